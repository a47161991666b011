package trace

import (
	"errors"
	"strconv"

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
	// host, nor (see procmap.ErrForwarded) of a namespace on it: traffic
	// the host forwards or sees in promiscuous mode, on an unknown row.
	ReasonForwarded
	// ReasonNetNSUnreachable: the flow belongs to a network namespace the
	// resolver cannot enter (procmap.ErrNamespaceUnreachable), on an
	// unknown row.
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
	// NumReasons is the number of reasons.
	NumReasons
)

// String names the reason as the JSON output and the exporter's "reason"
// label do: "no_socket", "no_process", "forwarded", "netns_unreachable",
// "not_ip", "not_accounted", "filtered" ("reasonN" for a number that is
// none).
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
// or, by reason, elsewhere (Buckets). A packet with both ends local is
// accounted at each end (the sender's SENT and the receiver's RECV), so
// that summed from the start,
//
//	Credited + Buckets.Total() + Held == Captured + Twice
//
// exactly, at every refresh (Held being that refresh's).
type Accounting struct {
	// Captured is the frame bytes of every packet the Accountant was
	// given, accounted or not.
	Captured uint64
	// Twice is the bytes of the packets with both ends local (loopback,
	// two local processes): accounted once at each end.
	Twice uint64
	// Credited is the bytes credited to process rows.
	Credited uint64
	// Buckets are the bytes on no process row, by reason.
	Buckets Buckets
	// Held is the bytes stamped before the refresh's cut whose owner was
	// still being looked up: they are accounted by a later refresh.
	Held uint64
}

// add adds o's counters to a's, Held excepted.
func (a *Accounting) add(o *Accounting) {
	a.Captured += o.Captured
	a.Twice += o.Twice
	a.Credited += o.Credited
	for i, v := range o.Buckets {
		a.Buckets[i] += v
	}
}

// reasonOf is why the lookup of f failed with err: the resolver's word
// when it says the flow's namespace could not be entered or that the flow
// is forwarded, else what the Accountant knew when it made the flow
// (neither end local: forwarded), else that no socket matched. A resolver
// that looks forwarded flows up in other namespaces of the host (h-nat)
// says so with errors wrapping procmap.ErrForwarded or
// procmap.ErrNamespaceUnreachable.
func reasonOf(err error, f *flow) Reason {
	switch {
	case errors.Is(err, procmap.ErrNamespaceUnreachable):
		return ReasonNetNSUnreachable
	case errors.Is(err, procmap.ErrForwarded), f.forwarded:
		return ReasonForwarded
	case f.key.link && f.key.proto == 0:
		return ReasonNotIP
	}
	return ReasonNoSocket
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
