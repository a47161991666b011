package trace

import (
	"errors"
	"strconv"
	"time"

	"github.com/gohogs/gohogs/procmap"
)

// Reason says why captured bytes are on no process row.
type Reason uint8

// The reasons, each a bucket of Buckets.
const (
	// ReasonNoSocket: no socket matches the flow (a connection closed
	// before it was looked up, traffic the kernel itself answers, a later
	// IP fragment): the bytes are on an unknown row.
	ReasonNoSocket Reason = iota
	// ReasonNoProcess: a socket matches but no process can be seen holding
	// it (no permission, or it exited): the bytes are on a socket row.
	ReasonNoProcess
	// ReasonForwarded: neither end of the packet is an address of this
	// host, nor of a namespace on it (procmap.EndNotHosted,
	// procmap.ErrForwarded), or forwarding is not followed
	// (procmap.EndNotFollowed), or the end is the far side of a NAT whose
	// other end is not credited either (procmap.EndBeyondNAT): traffic the
	// host forwards or sees in promiscuous mode, on an unknown row.
	ReasonForwarded
	// ReasonNetNSUnreachable: the flow belongs to a network namespace the
	// resolver cannot enter (procmap.EndNoNamespace,
	// procmap.ErrNamespaceUnreachable) or tell apart from another holding
	// the same address (procmap.EndAmbiguous), on an unknown row.
	ReasonNetNSUnreachable
	// ReasonNotIP: a frame that is not IP (ARP, LLDP, ...), and not sent
	// by a packet socket that could be told apart (Config.UDP): on no row.
	ReasonNotIP
	// ReasonNotAccounted: an IP protocol that is not accounted: without
	// Config.UDP (nethogs -C) everything but TCP. On no row.
	ReasonNotAccounted
	// ReasonFiltered: the traffic of a process that Config.PIDs does not
	// show (nethogs -P), on an unknown row.
	ReasonFiltered
	// ReasonOverflow: packets that the ebpf backend counted without their
	// flow because its flow map was full (capture.FlowCount.Overflow), on
	// the unknown row of their protocol.
	ReasonOverflow
	// NumReasons is the number of reasons.
	NumReasons
)

// String names the reason as the JSON output and the exporter's "reason"
// label do: "no_socket", "no_process", "forwarded", "netns_unreachable",
// "not_ip", "not_accounted", "filtered", "overflow" ("reasonN" for a
// number that is none).
func (r Reason) String() string {
	switch r {
	case ReasonNoSocket:
		return "no_socket"
	case ReasonNoProcess:
		return "no_process"
	case ReasonForwarded:
		return "forwarded"
	case ReasonNetNSUnreachable:
		return "netns_unreachable"
	case ReasonNotIP:
		return "not_ip"
	case ReasonNotAccounted:
		return "not_accounted"
	case ReasonFiltered:
		return "filtered"
	case ReasonOverflow:
		return "overflow"
	}
	return "reason" + strconv.Itoa(int(r))
}

// Buckets are byte counts by Reason.
type Buckets [NumReasons]uint64

// Total is the sum of the buckets.
func (b *Buckets) Total() uint64 {
	var n uint64
	for _, v := range b {
		n += v
	}
	return n
}

// Accounting says where captured bytes went: to process rows (Credited),
// or, by reason, to no process row (Buckets). A packet with both ends
// local, or passing through between two namespaces behind this one, is
// accounted at each end (the sender's SENT and the receiver's RECV); a
// copy of a packet that another watched interface captured, or the bytes
// of a flow counted through its peer (forward.go), are accounted where
// they are counted and nowhere else (Elsewhere). So summed from the start,
//
//	Credited + Buckets.Total() + Elsewhere + Held == Captured + Twice
//
// exactly, at every refresh (Held being that refresh's).
type Accounting struct {
	// Captured is the frame bytes of every packet the Accountant was
	// given, accounted or not.
	Captured uint64
	// Twice is the bytes of the packets with both ends local (loopback,
	// two local processes) or both in namespaces behind this one:
	// accounted once at each end.
	Twice uint64
	// Credited is the bytes credited to process rows.
	Credited uint64
	// Buckets are the bytes on no process row, by reason.
	Buckets Buckets
	// Elsewhere is the bytes counted once already: copies of packets that
	// their flows count on another watched interface (or, untranslated,
	// where a NAT's translated copy is watched: procmap.EndCountedThere),
	// and the flows credited through their peer, or left to it.
	Elsewhere uint64
	// Held is the bytes stamped before the refresh's cut whose owner was
	// still being looked up: they are accounted by a later refresh.
	Held uint64
}

// add adds o's counters to a's, Held excepted.
func (a *Accounting) add(o *Accounting) {
	a.Captured += o.Captured
	a.Twice += o.Twice
	a.Credited += o.Credited
	a.Elsewhere += o.Elsewhere
	for i, v := range o.Buckets {
		a.Buckets[i] += v
	}
}

// reasonOf is why the lookup of f failed with err (nil: before any
// lookup). For a forwarded or NAT'd end, the resolver's final answer (a
// *procmap.EndError): its namespace could not be entered, or told apart
// from another holding the same address, or it is forwarded (no end on
// this host, not followed, the far side of a NAT; an end counted on
// another interface does not come here, see settle). Else the resolver's
// word when it says the flow's namespace could not be entered or that the
// flow is forwarded, else what the Accountant knew when it made the flow
// (neither end local: forwarded; a packet socket's frame that is not IP),
// else that no socket matched.
func reasonOf(err error, f *flow) Reason {
	var ee *procmap.EndError
	if errors.As(err, &ee) {
		switch ee.Reason {
		case procmap.EndNoNamespace, procmap.EndAmbiguous:
			return ReasonNetNSUnreachable
		}
		return ReasonForwarded
	}
	switch {
	case errors.Is(err, procmap.ErrNamespaceUnreachable):
		return ReasonNetNSUnreachable
	case errors.Is(err, procmap.ErrForwarded), f.key.fwd:
		return ReasonForwarded
	case f.key.link && f.key.proto == 0:
		return ReasonNotIP
	}
	return ReasonNoSocket
}

// fate is where a refresh puts the bytes of a flow (settle).
type fate uint8

const (
	// fateRow: to the row settle returns (nil: none, a frame that is not
	// IP), accounted as bucketOf says.
	fateRow fate = iota
	// fateHeld: kept for a later refresh, the flow's owner (or its peer's)
	// being looked up still.
	fateHeld
	// fateElsewhere: counted by another flow or on another interface, not
	// here (Accounting.Elsewhere).
	fateElsewhere
)

// settle decides, at a refresh, where the bytes of f go: the one place
// that maps a flow's lookup to a row or a reason's bucket. A resolved flow
// goes to its owner's row; one still being looked up (for at most
// PendingLimit) is held; a forwarded flow counted on another interface
// (procmap.EndCountedThere), or whose peer is credited or counted
// elsewhere, or that leaves the unknown rows to its primary peer, is
// counted elsewhere; one whose peer is still being looked up is held with
// it; the rest go to the unknown row of their protocol, in the bucket of
// f.reason. a.mu is held.
func (a *Accountant) settle(f *flow, now time.Time) (*proc, fate) {
	pending := func(f *flow) bool {
		return now.Sub(f.first) < a.cfg.PendingLimit && (f.queued || f.state == statePending)
	}
	switch p := a.peerOf(f); {
	case f.state == stateResolved:
		return f.owner, fateRow
	case pending(f):
		return nil, fateHeld
	case f.state == stateElsewhere, p != nil && (p.state == stateResolved || p.state == stateElsewhere):
		return nil, fateElsewhere
	case p != nil && pending(p):
		return nil, fateHeld
	case p != nil && !f.primary:
		return nil, fateElsewhere
	}
	return a.unknownRow(f.key), fateRow
}

// bucketOf says where the bytes of flow f go when a refresh credits them
// to row to (nil: no row, a frame that is not IP): to a process row
// (credited), or to a reason's bucket.
func bucketOf(f *flow, to *proc) (credited bool, r Reason) {
	if f.state != stateResolved {
		return false, f.reason
	}
	switch {
	case to == nil:
		return false, ReasonFiltered // -P: a packet socket's frame that is not IP
	case to.row.Kind == KindProcess:
		return true, 0
	case to.row.Kind == KindSocket:
		return false, ReasonNoProcess
	}
	return false, ReasonFiltered // resolved, but -P shows it as unknown
}

// account records where the bytes of f go as a refresh credits them to
// row to (nil: none). a.mu is held.
func (a *Accountant) account(f *flow, to *proc) {
	n := f.sent + f.recv
	if credited, r := bucketOf(f, to); credited {
		a.acct[0].Credited += n
	} else {
		a.acct[0].Buckets[r] += n
	}
}

// closeAccounting ends a refresh's accounting, held being the bytes it
// left to later refreshes, and returns it. a.mu is held.
func (a *Accountant) closeAccounting(held uint64) Accounting {
	acc := a.acct[0]
	acc.Held = held
	a.totals.add(&acc)
	a.totals.Held = held
	a.acct[0], a.acct[1] = a.acct[1], Accounting{}
	return acc
}
