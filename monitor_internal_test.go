package gohogs

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/gohogs/gohogs/capture"
	"github.com/gohogs/gohogs/procmap"
	"github.com/gohogs/gohogs/trace"
)

// A Monitor over fake interfaces and a fake process lookup, in a synctest
// bubble: what it does when capture fails for good and when closing fails.

// fakeSource is an interface whose capture runs until its context ends or
// an error is sent on fail (a failure reopening cannot mend).
type fakeSource struct {
	fail     chan error
	closeErr error
	closed   bool
}

func newFakeSource(closeErr error) *fakeSource {
	return &fakeSource{fail: make(chan error), closeErr: closeErr}
}

func (f *fakeSource) Run(ctx context.Context, _ capture.Handler) error {
	select {
	case <-ctx.Done():
		return nil
	case err := <-f.fail:
		return err
	}
}

func (f *fakeSource) Stats() []capture.Stats { return nil }

func (f *fakeSource) Close() error {
	f.closed = true
	return f.closeErr
}

type fakeResolver struct{ closeErr error }

func (fakeResolver) Resolve(procmap.Flow) (procmap.Owner, error) {
	return procmap.Owner{}, procmap.ErrNotFound
}
func (fakeResolver) Stats() procmap.Stats { return procmap.Stats{} }
func (r fakeResolver) Close() error       { return r.closeErr }

type noLocals struct{}

func (noLocals) Contains(netip.Addr) bool { return false }

// fakeMonitor starts a Monitor on srcs, named a0, b0, …; heard receives
// what OnError hears.
func fakeMonitor(res resolver, heard chan<- string, srcs ...*fakeSource) *Monitor {
	ctx, cancel := context.WithCancel(context.Background())
	opts := Options{Interval: time.Second}
	if heard != nil {
		opts.OnError = func(iface string, err error) { heard <- iface + ": " + err.Error() }
	}
	var devices []Device
	var ss []source
	var names []string
	for i, s := range srcs {
		name := string(rune('a'+i)) + "0"
		devices = append(devices, Device{Name: name})
		ss = append(ss, s)
		names = append(names, name)
	}
	opts.Interfaces = names
	return start(ctx, cancel, opts, devices, noLocals{}, res, ss, names)
}

// TestRunEndsWhenEveryInterfaceFails: the first interface to fail for
// good is heard of by OnError and the refreshes go on; when the last one
// fails, Run ends with both errors, Err returns the same, and the
// Refreshes channel of another Monitor closes with Err set.
func TestRunEndsWhenEveryInterfaceFails(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b := newFakeSource(nil), newFakeSource(nil)
		heard := make(chan string, 4)
		m := fakeMonitor(fakeResolver{}, heard, a, b)
		errA, errB := errors.New("a0 is gone"), errors.New("b0 is gone")
		go func() {
			time.Sleep(1500 * time.Millisecond)
			a.fail <- errA
			time.Sleep(time.Second)
			b.fail <- errB
		}()
		n := 0
		err := m.Run(context.Background(), Schedule{}, func(*trace.Snapshot) error {
			n++
			if m.Err() != nil {
				t.Errorf("refresh %d: Err %v while b0 still captures", n, m.Err())
			}
			return nil
		})
		if !errors.Is(err, errA) || !errors.Is(err, errB) || m.Err() != err {
			t.Errorf("Run returned %v, Err %v; want both interfaces' errors", err, m.Err())
		}
		// Refreshes at 0, 1 and 2 s; the last interface failed at 2.5 s.
		if n != 3 || time.Since(m.Start()) != 2500*time.Millisecond {
			t.Errorf("%d refreshes, Run ended %v after the start", n, time.Since(m.Start()))
		}
		if err := m.Close(); err != nil {
			t.Error(err)
		}
		close(heard) // Close waited for the capture goroutines
		var got []string
		for h := range heard {
			got = append(got, h)
		}
		if strings.Join(got, "|") != "a0: a0 is gone" {
			t.Errorf("OnError heard %q, want only a0's failure", got)
		}

		c := newFakeSource(nil)
		m = fakeMonitor(fakeResolver{}, nil, c)
		go func() {
			time.Sleep(1500 * time.Millisecond)
			c.fail <- errA
		}()
		n = 0
		for range m.Refreshes(context.Background(), Schedule{}) {
			n++
		}
		if n != 2 || !errors.Is(m.Err(), errA) {
			t.Errorf("Refreshes: %d refreshes, Err %v", n, m.Err())
		}
		m.Close()
	})
}

// TestCloseJoinsErrors: Close closes every interface and the process
// lookup even when one fails, and returns every failure, each named; a
// second Close returns the same.
func TestCloseJoinsErrors(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		errA, errRes := errors.New("bad fd"), errors.New("netlink close")
		a, b := newFakeSource(errA), newFakeSource(nil)
		m := fakeMonitor(fakeResolver{closeErr: errRes}, nil, a, b)
		err := m.Close()
		if !errors.Is(err, errA) || !errors.Is(err, errRes) || !strings.Contains(err.Error(), "closing a0") {
			t.Errorf("Close returned %v, want a0's and the resolver's errors", err)
		}
		if !a.closed || !b.closed {
			t.Errorf("closed a0 %v, b0 %v", a.closed, b.closed)
		}
		if again := m.Close(); again != err {
			t.Errorf("second Close returned %v", again)
		}
		if err := fakeMonitor(fakeResolver{}, nil, newFakeSource(nil)).Close(); err != nil {
			t.Errorf("Close with nothing failing: %v", err)
		}
	})
}
