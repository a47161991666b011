package procmap

import (
	"fmt"
	"os"
	"slices"
	"time"

	"golang.org/x/sys/unix"

	"github.com/gohogs/gohogs/internal/proctable"
)

// packetSock is a packet socket as packet_diag or /proc/net/packet shows
// it.
type packetSock struct {
	proto   uint16 // bound EtherType, host order: 0 sends only, 3 (ETH_P_ALL) every one
	ifindex int    // bound interface, 0 for every one
	uid     uint32
	inode   uint64
	// reader: a receive ring and no send ring, a capture (tcpdump,
	// gohogs): it sends nothing. Only packet_diag says so.
	reader bool
}

// ResolvePacket finds the packet socket (AF_PACKET) that sent the frames
// of f, and the process holding it. A packet socket is known by the
// EtherType and the interface it is bound to, so the sender is told apart
// by those: a socket bound to the frames' EtherType before one that
// receives nothing (bound to protocol 0: it only sends) before one bound
// to every protocol (ETH_P_ALL), and to the frames' interface before one
// bound to none. Captures (a receive ring and no send ring, as packet_diag
// reports) and the sockets of the calling process itself (gohogs's own
// capture) are never the sender. It returns an error wrapping ErrNotFound
// when no socket matches, or when the best matches are held by different
// processes (the sender cannot be told apart).
func (r *Resolver) ResolvePacket(f PacketFlow) (Owner, error) {
	if f.NetNS == 0 {
		f.NetNS = r.selfNS
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return Owner{}, errClosed
	}
	r.stats.Lookups++
	r.stats.PacketLookups++
	return r.counted(r.resolvePacket(f, time.Now()))
}

func (r *Resolver) resolvePacket(f PacketFlow, now time.Time) (Owner, error) {
	ns, err := r.nsFor(f.NetNS, now)
	if err != nil {
		return Owner{}, fmt.Errorf("%w: %w", ErrNamespaceUnreachable, err)
	}
	socks, err := r.packetSockets(ns)
	if err != nil {
		return Owner{}, err
	}
	slices.SortStableFunc(socks, func(a, b packetSock) int { return packetScore(b, f) - packetScore(a, f) })
	self := 0
	if r.live {
		self = os.Getpid()
	}
	var found []Owner
	score := 0
	for _, s := range socks {
		sc := packetScore(s, f)
		if sc == 0 || (len(found) > 0 && sc < score) {
			break
		}
		o := r.owner(socket{Inode: s.inode, UID: s.uid})
		if o.Process != nil && o.Process.PID == self {
			continue // gohogs's own
		}
		score = sc
		found = append(found, o)
	}
	switch {
	case len(found) == 0:
		return Owner{}, fmt.Errorf("procmap: no packet socket for EtherType 0x%04x on interface %d: %w", f.EtherType, f.IfIndex, ErrNotFound)
	case len(found) > 1 && !sameProcess(found):
		return Owner{}, fmt.Errorf("procmap: %d packet sockets of different processes for EtherType 0x%04x on interface %d: %w",
			len(found), f.EtherType, f.IfIndex, ErrNotFound)
	}
	return found[0], nil
}

// sameProcess says whether every owner is the same process.
func sameProcess(owners []Owner) bool {
	for _, o := range owners[1:] {
		p, q := o.Process, owners[0].Process
		if p == nil || q == nil || p.PID != q.PID || p.StartTime != q.StartTime {
			return false
		}
	}
	return true
}

// ethPAll is ETH_P_ALL, a packet socket bound to every protocol.
const ethPAll = unix.ETH_P_ALL

// packetScore ranks s as the sender of f's frames, 0 for not at all (see
// ResolvePacket).
func packetScore(s packetSock, f PacketFlow) int {
	if s.reader {
		return 0
	}
	var iface int
	switch s.ifindex {
	case f.IfIndex:
		iface = 2
	case 0:
		iface = 1
	default:
		return 0
	}
	var proto int
	switch s.proto {
	case f.EtherType:
		proto = 3
	case 0:
		proto = 2
	case ethPAll:
		proto = 1
	default:
		return 0
	}
	return proto*3 + iface
}

// packetSockets lists the packet sockets of namespace ns (nil: own), from
// packet_diag, or /proc/net/packet where it fails.
func (r *Resolver) packetSockets(ns *nsInfo) ([]packetSock, error) {
	var out []packetSock
	if d := r.diagFor(ns); d != nil {
		r.stats.NetlinkQueries++
		socks, err := d.PacketSockets(nil)
		if err == nil {
			for _, s := range socks {
				out = append(out, packetSock{proto: s.Protocol, ifindex: s.IfIndex, uid: s.UID, inode: s.Inode,
					reader: s.RxRing && !s.TxRing})
			}
			return out, nil
		}
		r.stats.NetlinkErrors++
	}
	var rows []proctable.PacketSocket
	var m int
	err := r.inNetDir(ns, func(dir string) error {
		var e error
		rows, m, e = proctable.ReadPacket(dir, nil)
		return e
	})
	r.stats.TableReads++
	r.stats.MalformedLines += uint64(m)
	if err != nil {
		return nil, fmt.Errorf("procmap: %w", err)
	}
	for _, s := range rows {
		out = append(out, packetSock{proto: s.Protocol, ifindex: s.IfIndex, uid: s.UID, inode: s.Inode})
	}
	return out, nil
}
