// Package flowbpf counts traffic per flow in the kernel: it loads the eBPF
// programs of flow.c (compiled and committed, see gen.go), attaches them to
// an interface's tcx hooks, hands up the first packet of each flow that is
// new to the flow map through a ring buffer, and takes the map's counts out
// once per refresh.
//
// The programs parse what capture.Decode parses (Ethernet, VLAN tags, IPv4,
// IPv6 and its extension headers, the ports of TCP, UDP, UDP-Lite, SCTP and
// DCCP, ICMP's type, code and echo identifier, the EtherType of a frame that
// is not IP), in the same first 128 bytes of each frame that the afpacket
// backend captures, reading them straight from the packet (tcx), and add
// each frame's length to a per-CPU hash map keyed by the packet's tuple and
// its packet type (Key). A frame whose tuple
// is not in the map is inserted with zero counts and handed up whole (its
// first EventData bytes): user space accounts it as a captured packet, which
// starts the owner lookup at once. Drain takes every entry out of the map
// (BPF_MAP_LOOKUP_AND_DELETE_BATCH, atomic per entry), so the map holds only
// the flows seen since the previous refresh, and the first packet after a
// cut is handed up with its timestamp: the refresh cut is exact to the time
// Drain runs.
//
// Nothing is lost silently: a full flow map sends the packet's bytes to one
// of the overflow buckets (by direction and protocol, Overflow) and counts it
// (Stats.MapFull); a full ring counts the first packet in the map instead of
// handing it up (Stats.EventsLost); a frame that does not parse is counted
// (Stats.Malformed).
//
// tcx (Linux 6.6) is used rather than a socket filter on an AF_PACKET socket
// (AttachSocket, kept for the comparison in bench/): the filter runs in the
// packet tap, which the kernel reaches only after cloning every outgoing
// packet for it, while tcx runs in the device's own path and costs nothing
// when nothing is attached to the tap.
//
// This is hand-written on github.com/cilium/ebpf (no cgo) because no library
// does flow accounting keyed the way gohogs's accountant is.
package flowbpf

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"sync"
	"time"
	"unsafe"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
	"github.com/cilium/ebpf/ringbuf"
	"golang.org/x/sys/unix"
)

// Key is the tuple a frame is counted under (struct flow_key). Ports are in
// network byte order; IPv4 addresses fill the first 4 bytes of Src and Dst.
type Key = flowFlowKey

// Value is the count of one key on one CPU (struct flow_val).
type Value = flowFlowVal

// Key flags (Key.Flags).
const (
	FlagPorts    = 1 // Sport and Dport are valid
	FlagFragment = 2 // an IP fragment
	FlagIPv4     = 4
	FlagIPv6     = 8
	FlagICMP     = 16 // ICMP or ICMPv6: Sport is its type and code, Dport an echo's identifier
)

// EventData is how many bytes of a first packet are handed up: what the
// AF_PACKET backend captures (capture.DefaultSnapLen).
const EventData = 128

// Sizes of the maps when Options leaves them 0.
const (
	// DefaultMaxFlows bounds the flow map: the tuples seen in one refresh
	// interval. Its kernel memory is allocated as flows arrive, at most
	// about MaxFlows × (100 + 24 × possible CPUs) bytes (10 MB on 2
	// CPUs); tuples beyond it go to the overflow buckets.
	DefaultMaxFlows = 65536
	// DefaultRingBytes is the ring of first packets: 1,700 of them, which
	// user space reads as they come.
	DefaultRingBytes = 256 << 10
)

// Options configures Load.
type Options struct {
	// Raw says frames begin at the network header (tun, PPP links).
	Raw bool
	// Loopback skips the outgoing copy of each packet (socket filter only:
	// tcx on loopback is attached to ingress alone).
	Loopback bool
	// MaxFlows is the flow map's size; 0 means DefaultMaxFlows.
	MaxFlows int
	// RingBytes is the ring's size, a power of 2 of at least a page; 0
	// means DefaultRingBytes.
	RingBytes int
	// ParseCopies (for tests) makes the tcx programs parse a copy of every
	// frame's headers, as they do when the headers are not all in the
	// packet's linear data, instead of reading the packet directly.
	ParseCopies bool
}

// Counter is one loaded set of programs and maps.
type Counter struct {
	objs flowObjects
	ncpu int

	mu   sync.Mutex // serializes Drain (its buffers and cursor)
	keys []Key
	vals []Value
}

// Load loads the programs and creates the maps. It needs CAP_BPF and
// CAP_NET_ADMIN (or root); its error says what is missing.
func Load(opts Options) (*Counter, error) {
	if opts.MaxFlows <= 0 {
		opts.MaxFlows = DefaultMaxFlows
	}
	if opts.RingBytes <= 0 {
		opts.RingBytes = DefaultRingBytes
	}
	ncpu, err := ebpf.PossibleCPU()
	if err != nil {
		return nil, fmt.Errorf("count possible CPUs: %w", err)
	}
	spec, err := loadFlow()
	if err != nil {
		return nil, err
	}
	spec.Maps[flowMapFlows].MaxEntries = uint32(opts.MaxFlows)
	spec.Maps[flowMapEvents].MaxEntries = uint32(opts.RingBytes)
	if err := spec.Variables[flowVarRawLink].Set(b2u8(opts.Raw)); err != nil {
		return nil, err
	}
	if err := spec.Variables[flowVarSkipOutgoing].Set(b2u8(opts.Loopback)); err != nil {
		return nil, err
	}
	if err := spec.Variables[flowVarParseCopies].Set(b2u8(opts.ParseCopies)); err != nil {
		return nil, err
	}
	c := &Counter{ncpu: ncpu}
	if err := spec.LoadAndAssign(&c.objs, nil); err != nil {
		if errors.Is(err, unix.EPERM) || errors.Is(err, unix.EACCES) {
			return nil, fmt.Errorf("load eBPF programs: needs root or CAP_BPF and CAP_NET_ADMIN: %w", err)
		}
		return nil, fmt.Errorf("load eBPF programs: %w", err)
	}
	return c, nil
}

func b2u8(b bool) uint8 {
	if b {
		return 1
	}
	return 0
}

// Attachment is the programs attached to one interface.
type Attachment struct {
	links []link.Link
}

// AttachTCX attaches the programs to the tcx hooks of interface ifindex (in
// the calling thread's network namespace): ingress, and egress unless
// ingressOnly (loopback, where every packet passes both).
func (c *Counter) AttachTCX(ifindex int, ingressOnly bool) (*Attachment, error) {
	a := &Attachment{}
	l, err := link.AttachTCX(link.TCXOptions{Interface: ifindex, Program: c.objs.GohogsIngress, Attach: ebpf.AttachTCXIngress})
	if err != nil {
		return nil, fmt.Errorf("attach to tcx ingress: %w", err)
	}
	a.links = append(a.links, l)
	if !ingressOnly {
		l, err := link.AttachTCX(link.TCXOptions{Interface: ifindex, Program: c.objs.GohogsEgress, Attach: ebpf.AttachTCXEgress})
		if err != nil {
			a.Close()
			return nil, fmt.Errorf("attach to tcx egress: %w", err)
		}
		a.links = append(a.links, l)
	}
	return a, nil
}

// Close detaches the programs.
func (a *Attachment) Close() error {
	var errs []error
	for _, l := range a.links {
		errs = append(errs, l.Close())
	}
	a.links = nil
	return errors.Join(errs...)
}

// AttachSocket attaches the socket filter program to socket fd (an
// AF_PACKET socket): it counts every packet and queues none.
func (c *Counter) AttachSocket(fd int) error {
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_ATTACH_BPF, c.objs.GohogsSocket.FD()); err != nil {
		return fmt.Errorf("attach socket filter: %w", err)
	}
	return nil
}

// Programs returns the loaded programs by name (gohogs_ingress,
// gohogs_egress, gohogs_socket), for their kernel statistics.
func (c *Counter) Programs() map[string]*ebpf.Program {
	return map[string]*ebpf.Program{
		flowProgGohogsIngress: c.objs.GohogsIngress,
		flowProgGohogsEgress:  c.objs.GohogsEgress,
		flowProgGohogsSocket:  c.objs.GohogsSocket,
	}
}

// Close detaches nothing (Attachments do that) and releases the programs
// and maps.
func (c *Counter) Close() error { return c.objs.Close() }

// drainBatch is how many entries one lookup-and-delete call takes.
const drainBatch = 1024

// Drain takes every entry out of the flow map and calls visit with its
// counts summed over the CPUs (tcp flags OR-ed). Each entry is read and
// deleted atomically, so a packet is counted either in what Drain returns
// or, later, in a new entry; only a packet whose program is between its
// lookup and its add at that very moment can be missed. visit's k is valid
// only during the call.
func (c *Counter) Drain(visit func(k *Key, v Value)) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.keys == nil {
		c.keys = make([]Key, drainBatch)
		c.vals = make([]Value, drainBatch*c.ncpu)
	}
	var cursor ebpf.MapBatchCursor
	for {
		n, err := c.objs.Flows.BatchLookupAndDelete(&cursor, c.keys, c.vals, nil)
		for i := range n {
			var sum Value
			for _, v := range c.vals[i*c.ncpu : (i+1)*c.ncpu] {
				sum.Bytes += v.Bytes
				sum.Packets += v.Packets
				sum.TcpFlags |= v.TcpFlags
			}
			if sum.Packets != 0 {
				visit(&c.keys[i], sum)
			}
		}
		if errors.Is(err, ebpf.ErrKeyNotExist) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("drain the flow map: %w", err)
		}
	}
}

// Overflow buckets: Overflow's index is OverflowOut (if outgoing) plus one
// of these.
const (
	OverflowTCP = iota
	OverflowUDP
	OverflowICMP
	OverflowOther
	OverflowOut     = 4
	OverflowBuckets = 8
)

// Overflow returns the counts of the overflow buckets since Load, summed
// over the CPUs: the packets that found the flow map full.
func (c *Counter) Overflow() ([OverflowBuckets]Value, error) {
	var out [OverflowBuckets]Value
	per := make([]Value, c.ncpu)
	for i := range out {
		if err := c.objs.Overflow.Lookup(uint32(i), per); err != nil {
			return out, fmt.Errorf("read overflow bucket %d: %w", i, err)
		}
		for _, v := range per {
			out[i].Bytes += v.Bytes
			out[i].Packets += v.Packets
			out[i].TcpFlags |= v.TcpFlags
		}
	}
	return out, nil
}

// Stats are the programs' own counters since Load.
type Stats struct {
	Malformed  uint64 // frames whose headers did not parse
	MapFull    uint64 // packets counted in the overflow buckets
	EventsLost uint64 // first packets counted in the map because the ring was full
	Events     uint64 // first packets handed up
	Copied     uint64 // frames whose headers were parsed from a copy (not all in the packet's linear data, or a socket filter)
}

// Stats reads the counters.
func (c *Counter) Stats() (Stats, error) {
	var s Stats
	per := make([]uint64, c.ncpu)
	for i, dst := range []*uint64{&s.Malformed, &s.MapFull, &s.EventsLost, &s.Events, &s.Copied} {
		if err := c.objs.Stats.Lookup(uint32(i), per); err != nil {
			return s, fmt.Errorf("read counter %d: %w", i, err)
		}
		for _, v := range per {
			*dst += v
		}
	}
	return s, nil
}

// Addrs returns k's addresses, and false for a frame that is not IP.
func (k *Key) Addrs() (src, dst netip.Addr, ok bool) {
	switch {
	case k.Flags&FlagIPv4 != 0:
		return netip.AddrFrom4([4]byte(k.Src[:4])), netip.AddrFrom4([4]byte(k.Dst[:4])), true
	case k.Flags&FlagIPv6 != 0:
		return netip.AddrFrom16(k.Src), netip.AddrFrom16(k.Dst), true
	}
	return netip.Addr{}, netip.Addr{}, false
}

// Ports returns k's ports in host byte order.
func (k *Key) Ports() (src, dst uint16) {
	return k.Sport>>8 | k.Sport<<8, k.Dport>>8 | k.Dport<<8
}

// Event is a first packet handed up.
type Event struct {
	// Time is when the program saw it.
	Time time.Time
	// Length is its length on the wire, link header included.
	Length int
	// IfIndex is the interface it was seen on.
	IfIndex int
	// Type is its packet type (PACKET_HOST ... PACKET_OUTGOING).
	Type uint8
	// Data is its first bytes (up to EventData), valid until the next read.
	Data []byte
}

// Events reads the first packets the programs hand up.
type Events struct {
	r   *ringbuf.Reader
	rec ringbuf.Record
}

// Events opens a reader of the ring. Only one should read at a time.
func (c *Counter) Events() (*Events, error) {
	r, err := ringbuf.NewReader(c.objs.Events)
	if err != nil {
		return nil, fmt.Errorf("open the event ring: %w", err)
	}
	return &Events{r: r, rec: ringbuf.Record{RawSample: make([]byte, 0, unsafe.Sizeof(flowEvent{}))}}, nil
}

// ErrTimeout is Read's error when nothing came before the deadline.
var ErrTimeout = errors.New("flowbpf: no event before the deadline")

// Read waits until deadline for the next first packet and fills ev. It
// returns ErrTimeout when none came, and an error wrapping os.ErrClosed
// after Close.
func (e *Events) Read(deadline time.Time, ev *Event) error {
	e.r.SetDeadline(deadline)
	for {
		if err := e.r.ReadInto(&e.rec); err != nil {
			if errors.Is(err, ringbuf.ErrFlushed) || isDeadline(err) {
				return ErrTimeout
			}
			return fmt.Errorf("read the event ring: %w", err)
		}
		raw := e.rec.RawSample
		if len(raw) < int(unsafe.Sizeof(flowEvent{})) {
			continue // not ours: cannot happen
		}
		fe := (*flowEvent)(unsafe.Pointer(&raw[0]))
		ev.Time = monoToTime(fe.Ts)
		ev.Length = int(fe.Len)
		ev.IfIndex = int(fe.Ifindex)
		ev.Type = fe.Ptype
		ev.Data = raw[unsafe.Offsetof(fe.Data) : unsafe.Offsetof(fe.Data)+uintptr(min(fe.Caplen, EventData))]
		return nil
	}
}

func isDeadline(err error) bool { return errors.Is(err, os.ErrDeadlineExceeded) }

// Available returns how many bytes of first packets wait in the ring.
func (e *Events) Available() int { return e.r.AvailableBytes() }

// Close ends the reader; a Read in progress returns.
func (e *Events) Close() error { return e.r.Close() }

// monoToTime converts a CLOCK_MONOTONIC reading (bpf_ktime_get_ns) to a
// time.Time with both clocks: Go's monotonic clock is CLOCK_MONOTONIC, so
// the result compares exactly with time.Now's.
func monoToTime(ns uint64) time.Time {
	now := time.Now()
	var ts unix.Timespec
	if unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts) != nil {
		return now
	}
	return now.Add(-time.Duration(uint64(ts.Nano()) - ns))
}
