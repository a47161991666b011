package capture

import (
	"context"
	"fmt"
	"net"
	"time"

	"github.com/gohogs/gohogs/internal/netns"
)

// reopen waits, with backoff, until f's interface exists and is up again in
// the capture's network namespace, and opens it. It returns false if ctx
// ended first.
func (c *Capture) reopen(ctx context.Context, f *iface) bool {
	delay := 100 * time.Millisecond
	for {
		select {
		case <-ctx.Done():
			return false
		case <-time.After(delay):
		}
		if delay < 2*time.Second {
			delay *= 2
		}
		src, index, err := c.openInNetns(f)
		if err != nil || src == nil {
			continue
		}
		f.mu.Lock()
		f.src = src
		f.index = index
		f.mu.Unlock()
		return true
	}
}

// openInNetns opens f's interface in the capture's network namespace. It
// returns a nil source while the interface is missing or down.
func (c *Capture) openInNetns(f *iface) (src source, index int, err error) {
	err = c.inNetns(func() error {
		var up bool
		if index, up = ifaceUp(f.link.Name); up {
			var err error
			src, _, err = c.openSource(f)
			return err
		}
		return nil
	})
	if err != nil && src != nil {
		src.close()
		src = nil
	}
	return src, index, err
}

// describeFailure says what happened to interface name, as seen from the
// capture's network namespace.
func (c *Capture) describeFailure(name string, err error) error {
	what := "failed"
	_ = c.inNetns(func() error {
		if _, e := net.InterfaceByName(name); e != nil {
			what = "disappeared"
		} else if _, up := ifaceUp(name); !up {
			what = "went down"
		}
		return nil
	})
	return fmt.Errorf("capture: interface %q %s (%w); capture resumes when it is back", name, what, err)
}

// inNetns runs fn on a thread of its own that joins the capture's network
// namespace.
func (c *Capture) inNetns(fn func() error) error { return netns.Do(int(c.netns.Fd()), fn) }
