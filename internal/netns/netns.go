// Package netns runs code inside another network namespace.
//
// A network namespace is a property of an OS thread, so code that must open a
// socket or read /proc/thread-self/net in another namespace runs on a thread
// locked to a fresh goroutine, which joins the namespace with setns(2) and
// leaves it again before it is unlocked. A thread that cannot be put back
// stays locked, and the Go runtime discards it when the goroutine ends, so no
// other goroutine ever runs in a namespace it did not ask for. This is the one
// setns helper of the module: capture and procmap both use it.
package netns

import (
	"fmt"
	"os"
	"runtime"

	"golang.org/x/sys/unix"
)

// Do runs fn inside the network namespace that the nsfs file descriptor fd
// refers to (an open /proc/PID/ns/net or /run/netns/NAME), and returns fn's
// error, or why the namespace could not be joined or left.
func Do(fd int, fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		errc <- func() error {
			orig, err := os.Open("/proc/thread-self/ns/net")
			if err != nil {
				return fmt.Errorf("open own network namespace: %w", err)
			}
			defer orig.Close()
			if err := unix.Setns(fd, unix.CLONE_NEWNET); err != nil {
				return fmt.Errorf("join network namespace: %w", err)
			}
			ferr := fn()
			if err := unix.Setns(int(orig.Fd()), unix.CLONE_NEWNET); err != nil {
				// The thread stays locked: the runtime ends it with
				// this goroutine.
				if ferr == nil {
					ferr = fmt.Errorf("restore network namespace: %w", err)
				}
				return ferr
			}
			runtime.UnlockOSThread()
			return ferr
		}()
	}()
	return <-errc
}

// DoPath runs fn inside the network namespace named by the nsfs file path
// (/run/netns/NAME, /proc/PID/ns/net).
func DoPath(path string, fn func() error) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("open network namespace %s: %w", path, err)
	}
	defer f.Close()
	if err := Do(int(f.Fd()), fn); err != nil {
		return fmt.Errorf("network namespace %s: %w", path, err)
	}
	return nil
}

// Inode returns the inode number that identifies the network namespace of
// the nsfs file at path (as in the link text "net:[INODE]").
func Inode(path string) (uint64, error) {
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		return 0, fmt.Errorf("network namespace %s: %w", path, err)
	}
	return st.Ino, nil
}
