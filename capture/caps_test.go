package capture

import (
	"fmt"
	"runtime"

	"golang.org/x/sys/unix"
)

// capget returns the calling thread's capabilities.
func capget() (unix.CapUserHeader, [2]unix.CapUserData, error) {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return hdr, data, fmt.Errorf("capget: %w", err)
	}
	return hdr, data, nil
}

// hasCap reports whether the calling thread has capability cap in its
// effective set.
func hasCap(cap int) (bool, error) {
	_, data, err := capget()
	return data[cap/32].Effective&(1<<(cap%32)) != 0, err
}

// withoutCap runs fn on an OS thread whose effective capabilities lack
// capability cap (capabilities are per thread on Linux), then restores
// them. If they cannot be restored the thread is discarded.
func withoutCap(cap int, fn func() error) error {
	res := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		hdr, data, err := capget()
		if err != nil {
			res <- err
			return
		}
		saved := data
		data[cap/32].Effective &^= 1 << (cap % 32)
		if err := unix.Capset(&hdr, &data[0]); err != nil {
			res <- fmt.Errorf("capset: %w", err)
			return
		}
		err = fn()
		if unix.Capset(&hdr, &saved[0]) == nil {
			runtime.UnlockOSThread()
		}
		res <- err
	}()
	return <-res
}
