package capture

import (
	"fmt"
	"runtime"

	"golang.org/x/sys/unix"
)

// withoutCapNetRaw runs fn on an OS thread whose effective capabilities
// lack CAP_NET_RAW (capabilities are per thread on Linux), then restores
// them. If they cannot be restored the thread is discarded.
func withoutCapNetRaw(fn func() error) error {
	res := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
		var data [2]unix.CapUserData
		if err := unix.Capget(&hdr, &data[0]); err != nil {
			res <- fmt.Errorf("capget: %w", err)
			return
		}
		saved := data
		data[unix.CAP_NET_RAW/32].Effective &^= 1 << (unix.CAP_NET_RAW % 32)
		if err := unix.Capset(&hdr, &data[0]); err != nil {
			res <- fmt.Errorf("capset: %w", err)
			return
		}
		err := fn()
		if unix.Capset(&hdr, &saved[0]) == nil {
			runtime.UnlockOSThread()
		}
		res <- err
	}()
	return <-res
}
