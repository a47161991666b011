package capture

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"runtime"
	"slices"
	"sync/atomic"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// LocalAddrs is the set of the host's IP addresses, per interface, kept
// current by netlink address notifications. Readers never lock: each
// change builds a new immutable set and publishes it atomically.
type LocalAddrs struct {
	cur atomic.Pointer[addrSet]
	gen atomic.Uint64 // bumped after each cur.Store
	h   *netlink.Handle
	ns  netns.NsHandle
	own bool // ns is the process's own: sockets are made without setns
}

// addrSet is one immutable snapshot of the local addresses.
type addrSet struct {
	// keys holds every address in its 16-byte form (IPv4 as IPv4-mapped):
	// a fixed-size key hashes as plain memory, where netip.Addr would hash
	// its zone handle too, and Contains runs for every packet
	// (BenchmarkLocalAddrsContains).
	keys   map[[16]byte]struct{}
	all    []netip.Addr
	byName map[string][]netip.Addr
}

// WatchLocalAddrs loads every current address of the calling thread's
// network namespace, then follows RTM_NEWADDR/RTM_DELADDR notifications
// until ctx is done.
func WatchLocalAddrs(ctx context.Context) (*LocalAddrs, error) {
	runtime.LockOSThread()
	ns, err := netns.Get()
	runtime.UnlockOSThread()
	if err != nil {
		return nil, fmt.Errorf("capture: local addresses: current network namespace: %w", err)
	}
	// Entering a namespace (setns) needs CAP_SYS_ADMIN, which a gohogs
	// given only CAP_NET_RAW lacks: name the namespace only when the
	// calling thread is not in the process's own.
	own := true
	if main, err := netns.GetFromPid(os.Getpid()); err == nil {
		own = main.Equal(ns)
		main.Close()
	}
	var h *netlink.Handle
	if own {
		h, err = netlink.NewHandle(unix.NETLINK_ROUTE)
	} else {
		h, err = netlink.NewHandleAt(ns, unix.NETLINK_ROUTE)
	}
	if err != nil {
		ns.Close()
		return nil, fmt.Errorf("capture: local addresses: netlink: %w", err)
	}
	l := &LocalAddrs{h: h, ns: ns, own: own}
	ctx, cancel := context.WithCancel(ctx)
	ch, err := l.subscribe(ctx)
	if err != nil {
		cancel()
		h.Close()
		ns.Close()
		return nil, err
	}
	// Load after subscribing: a change in between is then both in the
	// dump and notified, never lost.
	if err := l.reload(); err != nil {
		cancel() // ends the subscription
		h.Close()
		ns.Close()
		return nil, err
	}
	go l.follow(ctx, cancel, ch)
	return l, nil
}

// subscribe opens an address notification socket in l's namespace.
func (l *LocalAddrs) subscribe(ctx context.Context) (chan netlink.AddrUpdate, error) {
	ch := make(chan netlink.AddrUpdate, 256)
	opts := netlink.AddrSubscribeOptions{
		ErrorCallback: func(error) {}, // a failed subscription closes ch; follow resubscribes
	}
	if !l.own {
		ns := l.ns
		opts.Namespace = &ns
	}
	err := netlink.AddrSubscribeWithOptions(ch, ctx.Done(), opts)
	if err != nil {
		return nil, fmt.Errorf("capture: local addresses: subscribe: %w", err)
	}
	return ch, nil
}

// follow reloads the set after each burst of notifications, and
// resubscribes (reloading too) if the subscription ends before ctx does,
// as after a receive buffer overflow.
func (l *LocalAddrs) follow(ctx context.Context, cancel context.CancelFunc, ch chan netlink.AddrUpdate) {
	defer cancel()
	defer l.ns.Close()
	defer l.h.Close()
	for {
		select {
		case <-ctx.Done():
			// The subscription closes its socket on ctx too; empty ch so
			// that its goroutine is never stuck sending, and ends.
			for range ch {
			}
			return
		case _, ok := <-ch:
			if !ok {
				if ch = l.resubscribe(ctx); ch == nil {
					return
				}
			}
			// Coalesce a burst into one reload.
			for drained := false; !drained; {
				select {
				case _, ok := <-ch:
					drained = !ok
				default:
					drained = true
				}
			}
			_ = l.reload() // on failure the previous set stays; the next event retries
		}
	}
}

// resubscribe subscribes again, with backoff, until it works or ctx ends
// (then it returns nil).
func (l *LocalAddrs) resubscribe(ctx context.Context) chan netlink.AddrUpdate {
	var ch chan netlink.AddrUpdate
	_, _ = retry(ctx, resubscribeBackoff, func() (bool, error) {
		var err error
		ch, err = l.subscribe(ctx)
		return err == nil, nil
	})
	return ch
}

// reload reads every address and link and publishes a new set.
func (l *LocalAddrs) reload() error {
	var (
		addrs []netlink.Addr
		links []netlink.Link
		err   error
	)
	for range 5 { // a dump interrupted by a concurrent change is retried
		addrs, err = l.h.AddrList(nil, netlink.FAMILY_ALL)
		if err == nil {
			links, err = l.h.LinkList()
		}
		if !errors.Is(err, netlink.ErrDumpInterrupted) {
			break
		}
	}
	if err != nil {
		return fmt.Errorf("capture: local addresses: %w", err)
	}
	names := make(map[int]string, len(links))
	for _, lk := range links {
		names[lk.Attrs().Index] = lk.Attrs().Name
	}
	s := &addrSet{keys: make(map[[16]byte]struct{}, len(addrs)), byName: make(map[string][]netip.Addr)}
	for _, a := range addrs {
		if a.IPNet == nil {
			continue
		}
		ip, ok := netip.AddrFromSlice(a.IP)
		if !ok {
			continue
		}
		ip = ip.Unmap()
		if _, dup := s.keys[ip.As16()]; !dup {
			s.all = append(s.all, ip)
		}
		s.keys[ip.As16()] = struct{}{}
		if name, ok := names[a.LinkIndex]; ok {
			s.byName[name] = append(s.byName[name], ip)
		}
	}
	for _, v := range s.byName {
		// IPv4 first, then IPv6, each in kernel order.
		slices.SortStableFunc(v, func(a, b netip.Addr) int { return cmp.Compare(a.BitLen(), b.BitLen()) })
	}
	l.cur.Store(s)
	l.gen.Add(1)
	return nil
}

// Generation changes each time the set of addresses is replaced, after the
// new set is in place: an answer of Contains given while Generation was g is
// still right while Generation is g.
func (l *LocalAddrs) Generation() uint64 { return l.gen.Load() }

// Contains reports whether a is an address of this host. It takes no lock
// and allocates nothing. IPv4-mapped IPv6 addresses match their IPv4 form.
func (l *LocalAddrs) Contains(a netip.Addr) bool {
	_, ok := l.cur.Load().keys[a.As16()]
	return ok
}

// Of returns the addresses of interface ifname, IPv4 first then IPv6, in
// the kernel's order; nil if it has none or does not exist.
func (l *LocalAddrs) Of(ifname string) []netip.Addr {
	return slices.Clone(l.cur.Load().byName[ifname])
}

// All returns every local address, in no particular order.
func (l *LocalAddrs) All() []netip.Addr {
	return slices.Clone(l.cur.Load().all)
}
