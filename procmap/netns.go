package procmap

import (
	"fmt"
	"os"
	"runtime"

	"golang.org/x/sys/unix"
)

// inNetNS runs fn on a locked OS thread inside the network namespace named
// by the nsfs file path (/run/netns/NAME or /proc/PID/ns/net). It runs on a
// fresh goroutine: if the thread cannot be put back in its namespace it
// stays locked and the runtime discards it when the goroutine ends.
func inNetNS(path string, fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		errc <- func() error {
			orig, err := os.Open("/proc/thread-self/ns/net")
			if err != nil {
				return fmt.Errorf("open own netns: %w", err)
			}
			defer orig.Close()
			target, err := os.Open(path)
			if err != nil {
				return fmt.Errorf("open netns %s: %w", path, err)
			}
			defer target.Close()
			if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
				return fmt.Errorf("setns %s: %w", path, err)
			}
			ferr := fn()
			if err := unix.Setns(int(orig.Fd()), unix.CLONE_NEWNET); err == nil {
				runtime.UnlockOSThread()
			}
			return ferr
		}()
	}()
	return <-errc
}
