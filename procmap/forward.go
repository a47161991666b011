package procmap

import (
	"errors"
	"fmt"
	"net/netip"
	"time"

	"golang.org/x/sys/unix"

	"github.com/gohogs/gohogs/internal/ctlookup"
	"github.com/gohogs/gohogs/internal/nsaddrs"
)

// EndReason says why the end of a forwarded or NAT'd flow is not credited
// to a socket by the namespace it was captured in.
type EndReason uint8

// End reasons.
const (
	// EndNotFollowed: forwarded and NAT'd flows are not followed
	// (Options.NoForwarding, a fixture /proc, or the namespace index could
	// not start: Stats.ForwardingErr says why).
	EndNotFollowed EndReason = iota + 1
	// EndNotHosted: no network namespace that the resolver's namespace
	// reaches holds the end's address: it is on another host (or in a
	// namespace no interface of the resolver's leads to).
	EndNotHosted
	// EndAmbiguous: several namespaces behind the interface that leads to
	// the address hold it; none is guessed.
	EndAmbiguous
	// EndNoNamespace: the namespace holding the address could not be
	// entered (gone meanwhile, or no permission).
	EndNoNamespace
	// EndBeyondNAT: the flow is what the far side of a NAT sees of the
	// end (its socket sees the untranslated tuple): the connection is
	// credited through its other end, or where the translated tuple is
	// captured.
	EndBeyondNAT
	// EndCountedThere: the flow is the untranslated side of a NAT whose
	// translated side crosses an interface in Options.Captured: its bytes
	// are counted there, once.
	EndCountedThere
)

func (r EndReason) String() string {
	switch r {
	case EndNotFollowed:
		return "forwarding not followed"
	case EndNotHosted:
		return "no end on this host"
	case EndAmbiguous:
		return "address in several namespaces"
	case EndNoNamespace:
		return "namespace not reachable"
	case EndBeyondNAT:
		return "far side of a NAT"
	case EndCountedThere:
		return "counted on another interface"
	}
	return fmt.Sprintf("EndReason(%d)", uint8(r))
}

// EndError is Resolve's error for a forwarded or NAT'd flow whose end is
// not a socket found by this namespace. It wraps ErrNotFound (and the
// cause, if any). Retrying does not change the answer until the host does.
type EndError struct {
	Reason EndReason
	// Addr is the end's address (the untranslated one for a NAT).
	Addr netip.Addr
	// Via is, for EndCountedThere, the index of the interface where the
	// translated copy is counted.
	Via int
	// Err is the cause, if any.
	Err error
}

func (e *EndError) Error() string {
	s := fmt.Sprintf("procmap: %v: %s", e.Addr, e.Reason)
	if e.Via != 0 {
		s += fmt.Sprintf(" (interface %d)", e.Via)
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns ErrNotFound and the cause.
func (e *EndError) Unwrap() []error {
	if e.Err == nil {
		return []error{ErrNotFound}
	}
	return []error{ErrNotFound, e.Err}
}

// forwarding is what follows forwarded and NAT'd flows: the index of the
// host's namespaces and their addresses, and the connection tracking
// table of the resolver's namespace.
type forwarding struct {
	idx      *nsaddrs.Index   // nil when it could not start
	ct       *ctlookup.Conn   // nil without conntrack
	err      error            // why idx is nil
	ctErr    error            // why ct is nil
	captured []string         // Options.Captured
	inNAT    bool             // resolving a translated flow: no second translation
	hosted   *HostedAddrs     // idx as the packet path sees it
	stats    forwardingCounts // counters for Stats
}

type forwardingCounts struct {
	forwarded, natLookups, natTranslated, natErrors uint64
}

// startForwarding sets up the following of forwarded and NAT'd flows in
// the calling thread's namespace (New runs it). Failures are not fatal:
// they are in Stats.
func (r *Resolver) startForwarding(opts Options) {
	fw := &forwarding{captured: opts.Captured}
	r.fwd = fw
	if opts.NoForwarding {
		fw.err = errors.New("procmap: Options.NoForwarding")
		return
	}
	if !r.live {
		fw.err = errors.New("procmap: not the host's /proc")
		return
	}
	idx, err := nsaddrs.New(nsaddrs.Options{ProcRoot: r.proc.Root(), NetNSDir: r.nsDir})
	if err != nil {
		fw.err = err
		return
	}
	fw.idx = idx
	fw.hosted = &HostedAddrs{idx: idx}
	if ct, err := ctlookup.Dial(r.proc.Root()); err != nil {
		fw.ctErr = err
	} else {
		fw.ct = ct
	}
}

// close closes the index and the conntrack socket.
func (fw *forwarding) close() error {
	var errs []error
	if fw.idx != nil {
		errs = append(errs, fw.idx.Close())
	}
	if fw.ct != nil {
		errs = append(errs, fw.ct.Close())
	}
	return errors.Join(errs...)
}

// HostedAddrs is the set of the addresses of the network namespaces that
// the resolver's namespace reaches directly (the peers of its veths, and of
// the veths enslaved to its bridges: containers), kept current. A packet
// path asks it, without a lock or an allocation, whether the end of a
// packet passing through is worth a flow of its own (trace.Config.Hosted).
type HostedAddrs struct {
	idx *nsaddrs.Index
}

// Contains reports whether a is an address of such a namespace. A nil
// *HostedAddrs contains nothing.
func (h *HostedAddrs) Contains(a netip.Addr) bool { return h != nil && h.idx.Contains(a) }

// Generation changes each time the set changes.
func (h *HostedAddrs) Generation() uint64 {
	if h == nil {
		return 0
	}
	return h.idx.Generation()
}

// HostedAddrs returns the addresses of the namespaces behind the
// resolver's, nil when forwarded flows are not followed.
func (r *Resolver) HostedAddrs() *HostedAddrs { return r.fwd.hosted }

// resolveForwarded resolves a flow captured passing through the resolver's
// namespace (neither address is its own): the end f.Local is looked for
// in the namespace of this host that holds its address. With connection
// tracking, a flow that the namespace NATs is checked to be what the end's
// socket sees (else EndBeyondNAT), and is not looked up when its
// translated side is captured too (EndCountedThere).
func (r *Resolver) resolveForwarded(f Flow, now time.Time) (Owner, error) {
	fw := r.fwd
	if fw.idx == nil {
		return Owner{}, &EndError{Reason: EndNotFollowed, Addr: f.Local.Addr(), Err: fw.err}
	}
	if f.NetNS != r.selfNS {
		return Owner{}, &EndError{Reason: EndNotFollowed, Addr: f.Local.Addr(),
			Err: fmt.Errorf("procmap: forwarded in namespace %d, not the resolver's own", f.NetNS)}
	}
	fw.stats.forwarded++
	if e, ok := r.tracked(f); ok && e.NAT() {
		// The translated copy travels between the NAT and the end that
		// sees translated addresses: the responder for a masquerade, the
		// initiator for a published port. If it is captured too, this
		// copy, either end's, is not counted. (Both translated, a hairpin:
		// each end sees one copy untranslated; it counts.)
		var far netip.Addr
		switch {
		case e.SNAT() && !e.DNAT():
			far = e.Reply.Src.Addr()
		case e.DNAT() && !e.SNAT():
			far = e.Orig.Src.Addr()
		}
		if far.IsValid() {
			if via, err := fw.idx.Route(far); err == nil && fw.isCaptured(via) {
				return Owner{}, &EndError{Reason: EndCountedThere, Addr: f.Local.Addr(), Via: via}
			}
		}
		initiator := f.Local == e.Orig.Src && f.Remote == e.Orig.Dst
		responder := f.Local == e.Reply.Src && f.Remote == e.Reply.Dst
		if !initiator && !responder {
			return Owner{}, &EndError{Reason: EndBeyondNAT, Addr: f.Local.Addr()}
		}
	}
	return r.resolveIn(Flow{Proto: f.Proto, Local: f.Local, Remote: f.Remote}, now)
}

// resolveIn resolves f (its NetNS ignored) in the namespace of this host
// that holds f.Local's address, setting Owner.NetNS.
func (r *Resolver) resolveIn(f Flow, now time.Time) (Owner, error) {
	loc, err := r.fwd.idx.Locate(f.Local.Addr())
	if err != nil {
		reason := EndNotHosted
		if errors.Is(err, nsaddrs.ErrAmbiguous) {
			reason = EndAmbiguous
		}
		return Owner{}, &EndError{Reason: reason, Addr: f.Local.Addr(), Err: err}
	}
	if _, ok := r.ns[loc.NetNS]; !ok && loc.NetNS != r.selfNS {
		// Known to the index before the resolver met it.
		r.ns[loc.NetNS] = &nsInfo{pid: loc.PID, path: loc.Path, lastUsed: now}
	}
	f.NetNS = loc.NetNS
	o, err := r.resolve(f, now)
	if err != nil {
		var ee *EndError
		if err != errRetry && !errors.As(err, &ee) && !errors.Is(err, ErrNotFound) {
			return Owner{}, &EndError{Reason: EndNoNamespace, Addr: f.Local.Addr(), Err: err}
		}
		return Owner{}, err
	}
	o.NetNS = loc.NetNS
	return o, nil
}

// natOwner resolves a flow of the resolver's own namespace whose local end
// may be an address that the namespace's NAT put there (a masqueraded
// port, a published port), when the socket lookup found no connected
// socket: its conntrack entry gives the untranslated tuple, whose socket
// is then looked up in the namespace holding it. ok is false when the
// flow is not translated (the caller goes on as without NAT).
func (r *Resolver) natOwner(ns *nsInfo, f Flow, e socket, found bool, now time.Time) (o Owner, ok bool, err error) {
	fw := r.fwd
	if fw.ct == nil || fw.inNAT || ns != nil {
		return Owner{}, false, nil
	}
	if found && e.Inode != 0 && e.State != tcpListen && !(f.Proto == unix.IPPROTO_UDP && e.State == udpUnconnected) {
		return Owner{}, false, nil // a connected socket of its own: nothing translated it
	}
	t, ok := r.tracked(f)
	if !ok || !t.NAT() {
		return Owner{}, false, nil
	}
	var view Flow
	switch {
	case t.SNAT() && f.Local == t.Reply.Dst && f.Remote == t.Reply.Src:
		view = Flow{Proto: f.Proto, Local: t.Orig.Src, Remote: t.Orig.Dst} // masqueraded initiator
	case t.DNAT() && f.Local == t.Orig.Dst && f.Remote == t.Orig.Src:
		view = Flow{Proto: f.Proto, Local: t.Reply.Src, Remote: t.Reply.Dst} // published port's responder
	default:
		return Owner{}, false, nil
	}
	if view.Local == f.Local {
		return Owner{}, false, nil
	}
	fw.stats.natTranslated++
	fw.inNAT = true
	defer func() { fw.inNAT = false }()
	o, err = r.resolveIn(view, now)
	var ee *EndError
	if errors.As(err, &ee) && ee.Reason == EndNotHosted {
		// Translated to an address of this namespace (a REDIRECT, a DNAT
		// to another local address).
		view.NetNS = r.selfNS
		if o2, err2 := r.resolve(view, now); err2 == nil || err2 == errRetry {
			return o2, true, err2
		}
	}
	return o, true, err
}

// udpUnconnected is the state (TCP_CLOSE) of a UDP socket that is bound
// but not connected: the lookup's fallback for any peer.
const udpUnconnected = 7

// tracked returns the conntrack entry of f, if connection tracking is
// asked: looked up by the tuple of f's packets from the remote end to the
// local one (what a flow of this namespace's NAT'd address carries), and,
// for a forwarded flow, from the local end to the remote one. TCP and UDP
// flows have both ports; an ICMP echo's flow has the identifier as its
// local port (the pinger's side) and remote port 0, as ctlookup takes an
// echo's tuple.
func (r *Resolver) tracked(f Flow) (ctlookup.Entry, bool) {
	fw := r.fwd
	if fw.ct == nil || !f.Remote.IsValid() || f.Local.Port() == 0 {
		return ctlookup.Entry{}, false
	}
	switch f.Proto {
	case unix.IPPROTO_TCP, unix.IPPROTO_UDP:
		if f.Remote.Port() == 0 {
			return ctlookup.Entry{}, false
		}
	case unix.IPPROTO_ICMP, unix.IPPROTO_ICMPV6:
		if f.Remote.Port() != 0 {
			return ctlookup.Entry{}, false
		}
	default:
		return ctlookup.Entry{}, false
	}
	t := ctlookup.Tuple{Src: f.Remote, Dst: f.Local}
	for range 2 {
		fw.stats.natLookups++
		e, ok, err := fw.ct.Lookup(f.Proto, t)
		if err != nil {
			fw.stats.natErrors++
			return ctlookup.Entry{}, false
		}
		if ok || !f.Forwarded {
			return e, ok
		}
		// Seen before the translation, the end's own packets carry the
		// tuple of its direction (a forwarded flow's packets from local
		// to remote): the initiator's Orig, or the responder's Reply.
		t = t.Reverse()
	}
	return ctlookup.Entry{}, false
}

// isCaptured says whether the interface of index ifindex is one of
// Options.Captured.
func (fw *forwarding) isCaptured(ifindex int) bool {
	for _, name := range fw.captured {
		if fw.idx.IfIndex(name) == ifindex {
			return true
		}
	}
	return false
}

// fill fills the forwarding fields of s.
func (fw *forwarding) fill(s *Stats) {
	s.Forwarded = fw.stats.forwarded
	s.NATLookups = fw.stats.natLookups
	s.NATTranslated = fw.stats.natTranslated
	s.NATErrors = fw.stats.natErrors
	s.ForwardingErr, s.ConntrackErr = fw.err, fw.ctErr
	if fw.idx != nil {
		is := fw.idx.Stats()
		s.Namespaces = is.Namespaces
		if is.Err != nil && s.ForwardingErr == nil {
			s.NamespaceErr = is.Err
		}
	}
}
