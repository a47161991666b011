package procmap

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"time"

	"golang.org/x/sys/unix"
)

// errRetry stops a first pass of resolve where the identity of a connect
// event's process is still being read (r.waitFor).
var errRetry = errors.New("procmap: retry once the identity is read")

// normalize unmaps addresses and names the resolver's namespace.
func (r *Resolver) normalize(f Flow) Flow {
	f.Local = netip.AddrPortFrom(f.Local.Addr().Unmap(), f.Local.Port())
	f.Remote = netip.AddrPortFrom(f.Remote.Addr().Unmap(), f.Remote.Port())
	if f.NetNS == 0 {
		f.NetNS = r.selfNS
	}
	return f
}

func (r *Resolver) resolve(f Flow, now time.Time) (Owner, error) {
	if f.Forwarded {
		return r.resolveForwarded(f, now)
	}
	if !f.Local.Addr().IsValid() || (f.Remote.Addr().IsValid() && f.Local.Addr().Is4() != f.Remote.Addr().Is4()) {
		return Owner{}, fmt.Errorf("procmap: flow %v-%v: invalid addresses: %w", f.Local, f.Remote, ErrNotFound)
	}
	ns, err := r.nsFor(f.NetNS, now)
	if err != nil {
		return Owner{}, fmt.Errorf("%w: %w", ErrNamespaceUnreachable, err)
	}
	e, found, err := r.lookupSocket(ns, f, false)
	if err != nil {
		return Owner{}, err
	}
	if o, ok, err := r.natOwner(ns, f, e, found, now); ok {
		return o, err
	}
	if found && e.Inode != 0 {
		o := Owner{Inode: e.Inode, UID: e.UID, Process: r.processOfQuick(e.Inode)}
		if o.Process == nil {
			// Its holder is not among the processes scanned cheaply:
			// the process remembered for this very socket, if any, or
			// the one that connected it; else every process is scanned,
			// if that is due and the socket is still open (a short-lived
			// socket closed since the lookup has no fd left to find).
			if c, ok := r.cache.get(f, now); ok && c.Inode == o.Inode && c.Process != nil {
				o.Process = c.Process
			} else if p := r.connected(f, now); p != nil {
				o.Process = p
			} else if r.waitFor != nil {
				return Owner{}, errRetry
			} else if r.fullDue(now) {
				if e2, ok, err := r.lookupSocket(ns, f, false); err == nil && ok && e2.Inode == e.Inode {
					o.Process = r.processOfFull(e.Inode, now)
				} else {
					r.stats.ScansSkipped++
				}
			}
		}
		if f.Proto == unix.IPPROTO_TCP && e.State == tcpListen {
			r.stats.ListenerFallbacks++
		}
		r.remember(f, o, now)
		return o, nil
	}
	if o, at, ok := r.cache.getAt(f, now); ok {
		if f.Proto == unix.IPPROTO_TCP {
			// Connected again by another process since it was
			// remembered (a client port given to a new connection to
			// the same peer): the new connection's process, not the old
			// one's. (An event read after the remembered answer may be
			// the same connection's, read late: same process.)
			p, when := r.connectedAt(f, now)
			if r.waitFor != nil {
				return Owner{}, errRetry
			}
			if p != nil && when.After(at) &&
				(o.Process == nil || p.PID != o.Process.PID || p.StartTime != o.Process.StartTime) {
				r.stats.ConnEventHits++
				o := Owner{UID: p.UID, Process: p}
				r.remember(f, o, now)
				return o, nil
			}
		}
		r.stats.CacheHits++
		return o, nil
	}
	if f.Proto == unix.IPPROTO_UDP {
		// The latest sender seen on the local port: fresher than the
		// endpoint's remembered owner, whose port a later short-lived
		// process may have been given.
		cached, inCache := r.cache.get(endpoint(f), now)
		p := r.connected(f, now)
		if r.waitFor != nil {
			return Owner{}, errRetry
		}
		if p != nil && !(inCache && cached.Process != nil &&
			cached.Process.PID == p.PID && cached.Process.StartTime == p.StartTime) {
			o := Owner{UID: p.UID, Process: p}
			r.remember(f, o, now)
			return o, nil
		}
		// A UDP socket's owner is its local endpoint's: an unconnected
		// socket that sent to many peers and closed.
		if o, ok := cached, inCache; ok {
			r.stats.CacheHits++
			return o, nil
		}
	}
	if found && f.Proto == unix.IPPROTO_TCP && e.State != tcpListen {
		// A child socket with no inode: not yet accepted (or in
		// SYN_RECV), or closing. Credit the listener on the local port.
		l, ok, err := r.lookupSocket(ns, f, true)
		if err != nil {
			return Owner{}, err
		}
		if ok && l.Inode != 0 {
			r.stats.ListenerFallbacks++
			o := r.owner(l)
			r.remember(f, o, now)
			return o, nil
		}
	}
	p := r.connected(f, now)
	if r.waitFor != nil {
		return Owner{}, errRetry
	}
	if p != nil {
		// Gone (closed, or in TIME_WAIT without inode) before it could be
		// looked up, but the connect event named its process.
		o := Owner{UID: p.UID, Process: p}
		r.remember(f, o, now)
		return o, nil
	}
	state := "none"
	if found {
		state = "inode 0, state " + strconv.Itoa(int(e.State))
	}
	return Owner{}, fmt.Errorf("procmap: proto %d %v-%v netns %d (socket: %s): %w",
		f.Proto, f.Local, f.Remote, f.NetNS, state, ErrNotFound)
}

// connected returns the process that a connect event says opened the TCP
// flow f (or a send event says sent from its UDP port), or nil.
func (r *Resolver) connected(f Flow, now time.Time) *Process {
	p, _ := r.connectedAt(f, now)
	if p != nil {
		r.stats.ConnEventHits++
	}
	return p
}

// connectedAt is connected, with the time the event was read, not counted
// in Stats.ConnEventHits. During a first pass of resolve (r.mayWait), an
// event whose process's identity is still being read sets r.waitFor; in
// the second, it names nobody.
func (r *Resolver) connectedAt(f Flow, now time.Time) (*Process, time.Time) {
	if r.conns == nil || (f.Proto != unix.IPPROTO_TCP && f.Proto != unix.IPPROTO_UDP) {
		return nil, time.Time{}
	}
	ns := f.NetNS
	if ns == 0 {
		ns = r.selfNS
	}
	p, when, ready := r.conns.lookupAt(f, ns, now)
	if ready != nil && r.mayWait {
		r.waitFor = ready
	}
	if p == nil {
		return nil, time.Time{}
	}
	// Every caller remembers the owner it returns (or a newer one): the
	// event is not needed any more.
	r.conns.forget(f)
	return p, when
}

// remember caches the owner of f (and, for UDP, of its local endpoint).
func (r *Resolver) remember(f Flow, o Owner, now time.Time) {
	r.cache.put(f, o, now)
	if f.Proto == unix.IPPROTO_UDP && f.Remote.IsValid() {
		r.cache.put(endpoint(f), o, now)
	}
}

// endpoint is the cache key of f's local endpoint.
func endpoint(f Flow) Flow {
	return Flow{NetNS: f.NetNS, Proto: f.Proto, Local: f.Local}
}

// owner completes a socket with its process.
func (r *Resolver) owner(e socket) Owner {
	o := Owner{Inode: e.Inode, UID: e.UID}
	o.Process = r.processOf(e.Inode)
	return o
}
