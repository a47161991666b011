package trace

import (
	"encoding/binary"
	"net/netip"
	"time"

	"github.com/gohogs/gohogs/capture"
)

type flowKey struct {
	proto         capture.Proto
	local, remote netip.AddrPort
	fwd           bool // neither end is local: local is in another namespace, if anywhere (forward.go)
	// A packet socket's frames (link set; see classify.go) are keyed by
	// the interface and the EtherType they were sent with, their proto
	// being the IP protocol of an IP frame, 0 for another; local and
	// remote are not set.
	link    bool
	ether   uint16
	ifindex int32
}

// mapKey is flowKey flattened for the flow table: fixed-size and free of
// pointers, it hashes as plain memory (netip.Addr's zone handle would send
// every lookup through the generic, slower hash).
type mapKey struct {
	local, remote [16]byte
	lport, rport  uint16
	proto         uint8
	link          uint8 // 1 for a packet socket's frames: ifindex in local, EtherType as lport
}

func (k flowKey) mapKey() mapKey {
	if k.link {
		m := mapKey{lport: k.ether, proto: uint8(k.proto), link: 1}
		binary.LittleEndian.PutUint32(m.local[:], uint32(k.ifindex))
		return m
	}
	return mapKey{local: k.local.Addr().As16(), remote: k.remote.Addr().As16(),
		lport: k.local.Port(), rport: k.remote.Port(), proto: uint8(k.proto)}
}

type flowState uint8

const (
	statePending flowState = iota
	stateResolved
	stateFailed
	stateElsewhere // counted on another interface (forward.go)
)

type flow struct {
	key        flowKey
	first      time.Time // when the flow was created (wall clock, from packets)
	lastSeen   time.Time // timestamp of its last packet
	sent, recv uint64    // bytes not yet credited to a row, stamped before the next cut
	nsent      uint64    // bytes stamped after the next cut, for the refresh after it
	nrecv      uint64
	credSent   uint64 // bytes credited by the last refresh (for Row.Conns)
	credRecv   uint64
	state      flowState
	queued     bool
	tries      uint8
	nextTry    time.Time
	owner      *proc
	closing    bool // a FIN or RST was seen: forgotten soon after it is idle
	fwdState        // forwarding and interface copies (forward.go)
	// reason is why the flow has no owner, while it has none (reasonOf).
	reason Reason
}

// closedFlowTimeout is how long a TCP flow that saw a FIN or RST is kept
// once idle (its last ACKs), instead of FlowTimeout: under a churn of short
// connections the table then holds seconds of them, not the last 50 s.
const closedFlowTimeout = 2 * time.Second

type procKey struct {
	pid   int
	start uint64
	inode uint64 // for KindSocket rows
	kind  Kind
}

type proc struct {
	key      procKey
	row      Row
	lastByte time.Time
	flows    int    // live flows owned
	conns    []Conn // the row's connections in refresh connSeq, being collected
	connSeq  int
}

// tupleCacheSize is the number of entries of the tuple cache, a power of 2.
const tupleCacheSize = 256

// tupleEntry remembers, for one packet tuple (source as key.local,
// destination as key.remote), the flows its bytes go to: a flood of
// packets of a few flows then skips the two Locals lookups and the flow
// table's hash. Entries are cleared when any flow leaves the table.
type tupleEntry struct {
	key        mapKey
	gen        uint64 // Locals generation the sides were decided under
	sent, recv *flow  // the source's and the destination's flow, if local (recv also when neither is)
}

// slot returns the cache index of tuple k: a multiplicative mix of the
// ports and the last 4 bytes of each address.
func (k *mapKey) slot() int {
	h := uint32(k.lport)<<16 | uint32(k.rport)
	h ^= binary.LittleEndian.Uint32(k.local[12:]) * 0x9e3779b1
	h ^= binary.LittleEndian.Uint32(k.remote[12:]) * 0x85ebca77
	h *= 0xc2b2ae3d
	return int(h >> (32 - 8))
}
