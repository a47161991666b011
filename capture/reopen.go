package capture

import (
	"context"
	"fmt"
	"runtime"

	"golang.org/x/sys/unix"

	"github.com/gohogs/gohogs/internal/netns"
)

// reopen waits, with backoff, until f's interface exists and is up again in
// the capture's network namespace, opens it and makes it f's source. It
// returns a nil source if ctx ended first, and a permanent error if the
// interface is up but cannot be opened.
func (c *Capture) reopen(ctx context.Context, f *iface) (source, error) {
	var src source
	var index int
	_, err := retry(ctx, reopenBackoff, func() (bool, error) {
		var err error
		src, index, err = c.openInNetns(f)
		return src != nil, err
	})
	if err != nil || src == nil {
		return nil, err
	}
	f.mu.Lock()
	f.src = src
	f.index = index
	f.mu.Unlock()
	return src, nil
}

// openInNetns opens f's interface in the capture's network namespace. It
// returns a nil source and no error while the interface is missing or down
// (see classify), and an error when opening it failed for another reason.
func (c *Capture) openInNetns(f *iface) (src source, index int, err error) {
	err = c.inNetns(func() error {
		st, idx, err := stateOf(f.link.Name)
		if err != nil || st != linkUp {
			return err
		}
		arphrd, err := arpHardwareType(f.link.Name)
		if err == nil && !sameLink(arphrd, f.arphrd) {
			return fmt.Errorf("it came back as another kind of link (ARPHRD %d, was %d)", arphrd, f.arphrd)
		}
		if err == nil {
			src, _, err = c.openSrc(f)
		}
		if err != nil {
			st, _, _ = stateOf(f.link.Name)
			if _, permanent := classify(err, st); permanent {
				return err
			}
			return nil // gone again meanwhile
		}
		index = idx
		return nil
	})
	if err != nil && src != nil {
		src.close()
		src = nil
	}
	return src, index, err
}

// sameLink reports whether interfaces of ARPHRD types a and b are read and
// decoded the same way.
func sameLink(a, b uint16) bool {
	la, rawA := dltOf(a)
	lb, rawB := dltOf(b)
	return la == lb && rawA == rawB && (a == unix.ARPHRD_LOOPBACK) == (b == unix.ARPHRD_LOOPBACK)
}

// inNetns runs fn in the capture's network namespace: on the calling thread
// when that thread is in it already, else on a thread of its own that joins
// it. Joining needs CAP_SYS_ADMIN, which a gohogs given only CAP_NET_RAW
// lacks; it captures in its own namespace and never has to join.
func (c *Capture) inNetns(fn func() error) error {
	runtime.LockOSThread()
	here, err := netns.Inode("/proc/thread-self/ns/net")
	if err == nil && here == c.netnsIno {
		defer runtime.UnlockOSThread()
		return fn()
	}
	runtime.UnlockOSThread()
	return netns.Do(int(c.netns.Fd()), fn)
}
