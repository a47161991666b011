// Package gohogs monitors network bandwidth per process on Linux, as nethogs
// does, and hands each refresh to the caller as data.
//
// A Monitor captures on the chosen interfaces (package capture), finds the
// process behind every flow (package procmap) and accounts the bytes
// (package trace). The gohogs command is built on this API alone.
//
// Each refresh is a *trace.Snapshot: one trace.Row per process (pid, start
// time, name, command line, uid, the bytes sent and received in the
// interval and since the start, and its connections), plus rows for
// traffic whose owner could not be found. Refreshes come through a callback
// (Run), a channel (Refreshes), or on demand (Refresh, RefreshAt); use one
// of them at a time, since each refresh hands over the bytes since the
// previous one. Byte counts are whole frames, link header included, as
// nethogs counts them.
//
//	m, err := gohogs.Open(ctx, gohogs.Options{Interfaces: []string{"eth0"}})
//	if err != nil { ... }
//	defer m.Close()
//	err = m.Run(ctx, func(s *trace.Snapshot) error {
//		for _, r := range s.Rows { fmt.Println(r.Name, r.PID, r.Sent, r.Recv) }
//		return nil
//	})
//
// A Monitor keeps no global state: several can run in one process at once,
// on the same or on different interfaces, and each stops with its context
// or Close. Open opens everything in the network namespace of the calling
// OS thread, so a program can watch another namespace by calling Open with
// its thread locked inside it (runtime.LockOSThread and setns).
//
// It needs root, or CAP_NET_RAW and CAP_NET_ADMIN (capture, sock_diag) and
// CAP_SYS_PTRACE or CAP_DAC_READ_SEARCH (other users' /proc/PID/fd).
package gohogs

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/gohogs/gohogs/capture"
	"github.com/gohogs/gohogs/procmap"
	"github.com/gohogs/gohogs/trace"
)

// Options says what a Monitor watches and how.
type Options struct {
	// Interfaces to capture on, by name. Required.
	Interfaces []string
	// Promiscuous puts the interfaces in promiscuous mode (nethogs -p).
	Promiscuous bool
	// Filter is a BPF filter expression (nethogs -f; needs the pcap build).
	Filter string
	// Backend is the capture backend; the zero value is AF_PACKET, and
	// capture.BackendPcap needs a build with the `pcap` tag.
	Backend capture.Backend
	// UDP accounts UDP as well as TCP (nethogs -C).
	UDP bool
	// PIDs, when set, shows only these processes (nethogs -P).
	PIDs []int
	// Interval is the refresh period of Run; default 1 s.
	Interval time.Duration
	// KeepIdle keeps idle processes in the refreshes forever (as nethogs's
	// total view modes do); otherwise they leave 150 s after their last byte.
	KeepIdle bool
	// NoConns leaves trace.Row.Conns empty in every refresh (see
	// trace.Config.NoConns).
	NoConns bool
	// Resolver configures the process lookup. Its zero value changes
	// nothing on the host (no mount, no priority change, no removal of
	// other processes' tracefs instances); the gohogs command allows them.
	Resolver procmap.Options
	// OnError, if set, hears of an interface that went down or away (capture
	// goes on on the others, and resumes when it comes back).
	OnError func(iface string, err error)
}

// Device is one interface the Monitor was asked to watch.
type Device struct {
	// Name of the interface.
	Name string
	// Addrs are its local addresses when it was opened, IPv4 first.
	Addrs []netip.Addr
	// Link is its link type (a pcap DLT number), when opened.
	Link capture.LinkType
	// Err is why it could not be opened, or nil.
	Err error
}

// OpenError is Open's error when no interface could be opened; Devices
// says why for each.
type OpenError struct {
	Devices []Device
}

func (e *OpenError) Error() string {
	var b strings.Builder
	b.WriteString("gohogs: no interface could be opened")
	for _, d := range e.Devices {
		fmt.Fprintf(&b, "; %s: %v", d.Name, d.Err)
	}
	return b.String()
}

// Unwrap returns the devices' errors.
func (e *OpenError) Unwrap() []error {
	var errs []error
	for _, d := range e.Devices {
		errs = append(errs, d.Err)
	}
	return errs
}

// Monitor is a running capture and its accounting.
type Monitor struct {
	opts     Options
	devices  []Device
	caps     []*capture.Capture
	locals   *capture.LocalAddrs
	resolver *procmap.Resolver
	acct     *trace.Accountant
	start    time.Time
	cancel   context.CancelFunc
	wg       sync.WaitGroup
	capErr   chan error
	close    sync.Once
	errMu    sync.Mutex
	err      error // why Refreshes's channel closed
}

// Open starts monitoring: it opens every interface and starts capturing.
// An interface that cannot be opened is reported in Devices; Open fails
// only when none can be opened (with an *OpenError). Capture stops when ctx
// ends or on Close; Close must be called in any case to release the
// sockets. The capture sockets, the address watcher and the sock_diag
// socket are opened in the calling OS thread's network namespace.
func Open(ctx context.Context, opts Options) (*Monitor, error) {
	if len(opts.Interfaces) == 0 {
		return nil, errors.New("gohogs: no interface to monitor")
	}
	if opts.Interval <= 0 {
		opts.Interval = time.Second
	}
	ctx, cancel := context.WithCancel(ctx)
	m := &Monitor{opts: opts, cancel: cancel}
	var err error
	m.locals, err = capture.WatchLocalAddrs(ctx)
	if err != nil {
		cancel()
		return nil, fmt.Errorf("gohogs: reading local addresses: %w", err)
	}
	m.resolver, err = procmap.New(opts.Resolver)
	if err != nil {
		cancel()
		return nil, fmt.Errorf("gohogs: %w", err)
	}
	for _, name := range opts.Interfaces {
		d := Device{Name: name, Addrs: m.locals.Of(name)}
		c, err := capture.Open(capture.Options{
			Interfaces:  []string{name},
			Promiscuous: opts.Promiscuous,
			Filter:      opts.Filter,
			Backend:     opts.Backend,
			OnError:     opts.OnError,
		})
		if err != nil {
			d.Err = err
		} else {
			d.Link = c.Links()[0].Type
			m.caps = append(m.caps, c)
		}
		m.devices = append(m.devices, d)
	}
	if len(m.caps) == 0 {
		m.resolver.Close()
		cancel()
		return nil, &OpenError{Devices: m.devices}
	}
	m.start = time.Now()
	m.acct = trace.New(trace.Config{
		Locals:   m.locals,
		Resolver: m.resolver,
		UDP:      opts.UDP,
		PIDs:     opts.PIDs,
		KeepIdle: opts.KeepIdle,
		NoConns:  opts.NoConns,
		Interval: opts.Interval,
	}, m.start)
	m.capErr = make(chan error, len(m.caps))
	for _, c := range m.caps {
		m.wg.Add(1)
		go func() {
			defer m.wg.Done()
			if err := c.Run(ctx, m.acct.Packet); err != nil {
				m.capErr <- err
			}
		}()
	}
	return m, nil
}

// Devices lists the interfaces asked for, in order, with their addresses,
// link types, and open errors.
func (m *Monitor) Devices() []Device { return m.devices }

// Settle is how long after a refresh's cut time Run takes it, so that the
// capture rings have handed over the packets stamped before the cut.
const Settle = 50 * time.Millisecond

// Start is the time accounting started: refresh k of Run cuts at
// Start + k × Interval.
func (m *Monitor) Start() time.Time { return m.start }

// Refresh takes a refresh now: the bytes since the previous one, per
// process.
func (m *Monitor) Refresh() *trace.Snapshot { return m.acct.Refresh(time.Now()) }

// RefreshAt takes a refresh of the packets stamped before cut (and after the
// previous refresh's cut). Call it at least Settle after cut.
func (m *Monitor) RefreshAt(cut time.Time) *trace.Snapshot { return m.acct.Refresh(cut) }

// CollectIdle forgets processes that have no live flow and no traffic
// since the previous refresh (nethogs -g).
func (m *Monitor) CollectIdle() int { return m.acct.CollectIdle() }

// Run takes a refresh at once and then one per Interval, each covering
// exactly the Interval before its cut time (Start + k × Interval), and passes
// each to fn, until ctx ends (Run returns nil), fn returns an error (Run
// returns it), or capture fails. The Monitor is not closed.
func (m *Monitor) Run(ctx context.Context, fn func(*trace.Snapshot) error) error {
	timer := time.NewTimer(0)
	defer timer.Stop()
	for k := 0; ; k++ {
		cut := m.start.Add(time.Duration(k) * m.opts.Interval)
		if k > 0 {
			timer.Reset(time.Until(cut.Add(Settle)))
			select {
			case <-timer.C:
			case <-ctx.Done():
				return nil
			case err := <-m.capErr:
				return fmt.Errorf("gohogs: capture: %w", err)
			}
		}
		if err := fn(m.RefreshAt(cut)); err != nil {
			return err
		}
	}
}

// Refreshes runs Run in a goroutine and delivers its refreshes on the
// returned channel, which is closed when ctx ends or capture fails (Err then
// says why). A refresh waits for the receiver: a slow receiver delays the
// next refresh's delivery, but not its cut, so no byte is lost or counted
// twice. Call it once per Monitor, and not together with Run.
func (m *Monitor) Refreshes(ctx context.Context) <-chan *trace.Snapshot {
	ch := make(chan *trace.Snapshot)
	go func() {
		defer close(ch)
		err := m.Run(ctx, func(s *trace.Snapshot) error {
			select {
			case ch <- s:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		})
		if errors.Is(err, ctx.Err()) {
			err = nil
		}
		m.errMu.Lock()
		m.err = err
		m.errMu.Unlock()
	}()
	return ch
}

// Err returns the error that closed the channel of Refreshes: nil when its
// context ended, the capture error otherwise.
func (m *Monitor) Err() error {
	m.errMu.Lock()
	defer m.errMu.Unlock()
	return m.err
}

// CaptureErr delivers a fatal capture error, for callers that drive
// refreshes themselves rather than through Run.
func (m *Monitor) CaptureErr() <-chan error { return m.capErr }

// Stats are a Monitor's health counters.
type Stats struct {
	Accounting trace.Stats
	Capture    []capture.Stats
	Resolver   procmap.Stats
}

// Stats returns the Monitor's counters.
func (m *Monitor) Stats() Stats {
	s := Stats{Accounting: m.acct.Stats(), Resolver: m.resolver.Stats()}
	for _, c := range m.caps {
		s.Capture = append(s.Capture, c.Stats()...)
	}
	return s
}

// Close stops capturing and releases everything. It is safe to call twice.
func (m *Monitor) Close() error {
	m.close.Do(func() {
		m.cancel()
		m.wg.Wait()
		for _, c := range m.caps {
			c.Close()
		}
		m.acct.Close()
		m.resolver.Close()
	})
	return nil
}
