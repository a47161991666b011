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
// traffic whose owner could not be found. Byte counts are whole frames,
// link header included, as nethogs counts them.
//
// Refreshes come through a callback (Run), a channel (Refreshes), or on
// demand (Refresh, RefreshAt); use one of them at a time, since each
// refresh hands over the bytes since the previous one. Run and Refreshes
// follow a Schedule: refresh k cuts at Start + k × Interval, taken Settle
// later (the first, which covers nothing, at once), so that each holds
// exactly the packets the kernel stamped in its interval, however late the
// program gets to it; the Schedule says when to
// stop (a duration, a count) and what to do after a pause, and carries work
// to do between two refreshes. The gohogs command's trace, JSON, exporter
// and interactive view all run on it.
//
//	m, err := gohogs.Open(ctx, gohogs.Options{Interfaces: []string{"eth0"}})
//	if err != nil { ... }
//	defer m.Close()
//	err = m.Run(ctx, gohogs.Schedule{Duration: time.Minute}, func(s *trace.Snapshot) error {
//		for _, r := range s.Rows { fmt.Println(r.Name, r.PID, r.Sent, r.Recv) }
//		return nil
//	})
//
// An interface that goes down or away is reported to Options.OnError and
// reopened when it is back; Run ends with an error only once capture has
// failed on every interface in a way that reopening cannot mend.
//
// A Monitor keeps no global state: several can run in one process at once,
// on the same or on different interfaces, and each stops with its context
// or Close. Open opens everything in the network namespace of the calling
// OS thread, so a program can watch another namespace by calling Open with
// its thread locked inside it (runtime.LockOSThread and setns).
//
// With Options.RemoteNames a Monitor also reads the DNS answers that cross
// its interfaces (it never sends a query) and names each connection's
// remote end by the name that was asked for (trace.Conn.RemoteName).
//
// With the zero Options.Resolver a Monitor changes nothing on the host: it
// mounts nothing, leaves every thread's priority alone and removes nothing
// it did not create; the gohogs command opts in to each (see
// procmap.Options).
//
// It needs root, or CAP_NET_RAW and CAP_NET_ADMIN (capture, sock_diag) and
// CAP_SYS_PTRACE or CAP_DAC_READ_SEARCH (other users' /proc/PID/fd).
package gohogs

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gohogs/gohogs/capture"
	"github.com/gohogs/gohogs/internal/dnswatch"
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
	// Backend is the capture backend; the zero value is eBPF where the
	// kernel and the privileges allow it, else AF_PACKET (Device.Fallback
	// says why), and capture.BackendPcap needs a build with the `pcap` tag.
	Backend capture.Backend
	// UDP accounts UDP as well as TCP (nethogs -C).
	UDP bool
	// PIDs, when set, shows only these processes (nethogs -P).
	PIDs []int
	// Interval is the refresh period of Run and Refreshes; default 1 s.
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
	// RemoteNames watches the DNS answers on the interfaces (UDP and TCP
	// from port 53, on a packet socket of its own; nothing is ever sent)
	// and names the connections' remote ends from them
	// (trace.Conn.RemoteName). It is off by default: it opens one more
	// socket, into which the kernel copies every answer, and keeps
	// which names the host resolved. Stats.Names says how it goes.
	RemoteNames bool
	// OnError, if set, hears of an interface that went down or away (capture
	// goes on on the others, and resumes when it comes back), and of one
	// that failed for good while others still capture. It is called from
	// the capture goroutines.
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
	// Backend is the capture backend reading it, when opened.
	Backend capture.Backend
	// Fallback says why the default backend is not eBPF on it, or is nil.
	Fallback error
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
	srcs     []source // the opened interfaces
	names    []string // srcs' interface names
	resolver resolver
	dns      *dnswatch.Watcher // with Options.RemoteNames
	dnsErr   error             // why dns is nil although asked for
	acct     *trace.Accountant
	start    time.Time
	cancel   context.CancelFunc
	wg       sync.WaitGroup // the capture goroutines

	collectMu sync.Mutex
	collected time.Time // the cut of the last Collect

	failMu   sync.Mutex
	failures []error       // interfaces that failed for good
	failed   chan struct{} // closed when every interface has failed
	err      error         // why; set before failed is closed

	closeOnce sync.Once
	closeErr  error
}

// source is one opened interface: a *capture.Capture, or a fake in tests.
type source interface {
	Run(ctx context.Context, h capture.Handler) error
	Stats() []capture.Stats
	Close() error
}

// resolver finds the owners of flows: a *procmap.Resolver, or a fake in
// tests.
type resolver interface {
	trace.Resolver
	Stats() procmap.Stats
	Close() error
}

// hostedOf is the set of addresses of the namespaces behind the Monitor's,
// if its resolver follows forwarded flows (a *procmap.Resolver does).
func hostedOf(res resolver) trace.Locals {
	if h, ok := res.(interface{ HostedAddrs() *procmap.HostedAddrs }); ok {
		if a := h.HostedAddrs(); a != nil {
			return a
		}
	}
	return nil
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
	locals, err := capture.WatchLocalAddrs(ctx)
	if err != nil {
		cancel()
		return nil, fmt.Errorf("gohogs: reading local addresses: %w", err)
	}
	// The resolver counts a NAT'd flow's untranslated copy nowhere when
	// its translated copy crosses one of these interfaces.
	ropts := opts.Resolver
	ropts.Captured = append(slices.Clone(ropts.Captured), opts.Interfaces...)
	res, err := procmap.New(ropts)
	if err != nil {
		cancel()
		return nil, fmt.Errorf("gohogs: %w", err)
	}
	var devices []Device
	var srcs []source
	var names []string
	for _, name := range opts.Interfaces {
		d := Device{Name: name, Addrs: locals.Of(name)}
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
			d.Backend, d.Fallback = c.Backend(), c.Fallback()
			srcs = append(srcs, c)
			names = append(names, name)
		}
		devices = append(devices, d)
	}
	if len(srcs) == 0 {
		cancel()
		var err error = &OpenError{Devices: devices}
		if cerr := res.Close(); cerr != nil {
			err = errors.Join(err, fmt.Errorf("gohogs: closing the process lookup: %w", cerr))
		}
		return nil, err
	}
	return start(ctx, cancel, opts, devices, locals, res, srcs, names), nil
}

// start accounts what srcs capture, from now on, and names the remote
// ends from the DNS answers on them if opts ask.
func start(ctx context.Context, cancel context.CancelFunc, opts Options, devices []Device, locals trace.Locals,
	res resolver, srcs []source, names []string) *Monitor {
	m := &Monitor{opts: opts, devices: devices, srcs: srcs, names: names, resolver: res, cancel: cancel,
		failed: make(chan struct{})}
	var namer trace.RemoteNamer
	m.dns, namer, m.dnsErr = openNames(ctx, opts, names)
	m.start = time.Now()
	m.acct = trace.New(trace.Config{
		Locals:   locals,
		Resolver: res,
		Hosted:   hostedOf(res),
		UDP:      opts.UDP,
		PIDs:     opts.PIDs,
		KeepIdle: opts.KeepIdle,
		NoConns:  opts.NoConns,
		Interval: opts.Interval,

		RemoteNames: namer,
	}, m.start)
	for i, c := range m.srcs {
		m.wg.Add(1)
		go func() {
			defer m.wg.Done()
			// nil when ctx ends or on Close; an error when the interface
			// failed in a way reopening it cannot mend.
			if err := c.Run(ctx, m.acct.Packet); err != nil {
				m.fail(m.names[i], err)
			}
		}()
	}
	return m
}

// fail records that an interface failed for good: OnError hears of it
// while others still capture; once none does, Run and Refreshes end with
// every interface's error.
func (m *Monitor) fail(name string, err error) {
	m.failMu.Lock()
	m.failures = append(m.failures, err)
	all := len(m.failures) == len(m.srcs)
	if all {
		m.err = fmt.Errorf("gohogs: no interface left to capture on: %w", errors.Join(m.failures...))
		close(m.failed)
	}
	m.failMu.Unlock()
	if !all && m.opts.OnError != nil {
		m.opts.OnError(name, err)
	}
}

// Devices lists the interfaces asked for, in order, with their addresses,
// link types, and open errors.
func (m *Monitor) Devices() []Device { return m.devices }

// Start is the time accounting started: refresh k of Run cuts at
// Start + k × Interval.
func (m *Monitor) Start() time.Time { return m.start }

// Refresh takes a refresh now: the bytes since the previous one, per
// process.
func (m *Monitor) Refresh() *trace.Snapshot { return m.RefreshAt(time.Now()) }

// RefreshAt takes a refresh of the packets stamped before cut (and after the
// previous refresh's cut). Call it at least Settle after cut. What the ebpf
// backend counted in the kernel is taken out at the cut when Run or
// Refreshes take the refresh, else when RefreshAt is called.
func (m *Monitor) RefreshAt(cut time.Time) *trace.Snapshot {
	m.collect(cut)
	return m.acct.Refresh(cut)
}

// CollectIdle forgets processes that have no live flow and no traffic
// since the previous refresh (nethogs -g).
func (m *Monitor) CollectIdle() int { return m.acct.CollectIdle() }

// Run takes the refreshes that sched describes (by default one per
// Interval, each covering the Interval before its cut time, until ctx
// ends) and passes each to fn. It returns nil when ctx or the schedule
// ends; fn's or a Between function's error if one fails; and, once capture
// has failed on every interface for good, an error joining theirs (Err
// returns it too). The Monitor is not closed.
func (m *Monitor) Run(ctx context.Context, sched Schedule, fn func(*trace.Snapshot) error) error {
	s := newSchedule(m.start, m.opts.Interval, sched)
	s.atCut = m.collect
	return s.run(ctx, sched.Between, m.failed, m.Err, func(cut time.Time) error {
		return fn(m.RefreshAt(cut))
	})
}

// Refreshes runs Run in a goroutine and delivers its refreshes on the
// returned channel, which is closed when ctx or the schedule ends, or when
// capture has failed on every interface (Err then says why; an error of a
// Between function is not reported: use Run for those). A refresh waits
// for the receiver; a receiver slower than an Interval is a pause, which
// the Schedule handles as it says, so no byte is lost or counted twice.
// Call it once per Monitor, and not together with Run.
func (m *Monitor) Refreshes(ctx context.Context, sched Schedule) <-chan *trace.Snapshot {
	ch := make(chan *trace.Snapshot)
	go func() {
		defer close(ch)
		m.Run(ctx, sched, func(s *trace.Snapshot) error {
			select {
			case ch <- s:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		})
	}()
	return ch
}

// Err returns nil while capture goes on on at least one interface (or
// ended with ctx or Close); once every interface has failed in a way that
// reopening it cannot mend, it returns an error joining theirs. A caller
// that takes refreshes itself (Refresh, RefreshAt) checks it to know that
// no more bytes will come.
func (m *Monitor) Err() error {
	select {
	case <-m.failed:
		return m.err
	default:
		return nil
	}
}

// Stats are a Monitor's health counters.
type Stats struct {
	Accounting trace.Stats
	Capture    []capture.Stats
	Resolver   procmap.Stats
	Names      NameStats
}

// Stats returns the Monitor's counters.
func (m *Monitor) Stats() Stats {
	s := Stats{Accounting: m.acct.Stats(), Resolver: m.resolver.Stats(), Names: m.nameStats()}
	for _, c := range m.srcs {
		s.Capture = append(s.Capture, c.Stats()...)
	}
	return s
}

// Close stops capturing and releases everything. It returns what failed
// to close (the capture sockets, the process lookup's sockets), joined. It
// is safe to call twice; the second call returns the first one's result.
func (m *Monitor) Close() error {
	m.closeOnce.Do(func() {
		m.cancel()
		m.wg.Wait()
		var errs []error
		for i, c := range m.srcs {
			if err := c.Close(); err != nil {
				errs = append(errs, fmt.Errorf("gohogs: closing %s: %w", m.names[i], err))
			}
		}
		if err := m.closeNames(); err != nil {
			errs = append(errs, fmt.Errorf("gohogs: %w", err))
		}
		m.acct.Close()
		if err := m.resolver.Close(); err != nil {
			errs = append(errs, fmt.Errorf("gohogs: closing the process lookup: %w", err))
		}
		m.closeErr = errors.Join(errs...)
	})
	return m.closeErr
}
