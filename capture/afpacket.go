package capture

import (
	"errors"
	"fmt"
	"time"

	"github.com/gopacket/gopacket/afpacket"
	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// Ring geometry of the AF_PACKET backend.
const (
	afFrameSize    = 2048                   // TPACKET_V3 packs packets in blocks; this only sets tp_frame_nr
	afBlockSize    = 256 << 10              // one block is handed over when full or after afBlockTimeout
	afBlockTimeout = 2 * time.Millisecond   // latency of a block with few packets
	afPollTimeout  = 100 * time.Millisecond // bounds a read, so Run notices ctx and Close
)

// afSource is one interface read through a TPACKET_V3 ring.
type afSource struct {
	tp *afpacket.TPacket
}

// openAFPacket opens a ring on interface name, attaches prog (which sets
// the snap length and filters) and drains what the ring caught before it.
// With cooked set the socket is SOCK_DGRAM: frames start at the network
// header.
func openAFPacket(name string, cooked bool, prog []bpf.RawInstruction, opts *Options) (source, error) {
	blocks := opts.RingBytes / afBlockSize
	if blocks < 2 {
		blocks = 2
	}
	st := afpacket.SocketRaw
	if cooked {
		st = afpacket.SocketDgram
	}
	tp, err := afpacket.NewTPacket(
		afpacket.OptInterface(name),
		afpacket.TPacketVersion3,
		afpacket.OptSocketType(st),
		afpacket.OptFrameSize(afFrameSize),
		afpacket.OptBlockSize(afBlockSize),
		afpacket.OptNumBlocks(blocks),
		afpacket.OptBlockTimeout(afBlockTimeout),
		afpacket.OptPollTimeout(afPollTimeout),
	)
	if err != nil {
		return nil, fmt.Errorf("open AF_PACKET socket: %w", err)
	}
	// The socket captured everything from bind until the filter is in
	// place. As libpcap does: drop all, empty the ring, then filter.
	if err := tp.SetBPF(dropAll); err != nil {
		tp.Close()
		return nil, fmt.Errorf("attach BPF filter: %w", err)
	}
	for i := 0; i < 1<<16; i++ {
		if _, _, err := tp.ZeroCopyReadPacketData(); err != nil {
			break
		}
	}
	if err := tp.SetBPF(prog); err != nil {
		tp.Close()
		return nil, fmt.Errorf("attach BPF filter: %w", err)
	}
	if opts.Promiscuous {
		if err := tp.SetPromiscuous(true); err != nil {
			tp.Close()
			return nil, fmt.Errorf("set promiscuous mode: %w", err)
		}
	}
	return &afSource{tp: tp}, nil
}

func (s *afSource) read() ([]byte, time.Time, int, int, error) {
	data, ci, err := s.tp.ZeroCopyReadPacketData()
	if err != nil {
		if errors.Is(err, afpacket.ErrTimeout) {
			return nil, time.Time{}, 0, 0, errTimeout
		}
		if errors.Is(err, unix.EINTR) {
			return nil, time.Time{}, 0, 0, errTimeout
		}
		return nil, time.Time{}, 0, 0, err
	}
	length := ci.Length
	for _, a := range ci.AncillaryData {
		// The NIC or driver stripped a VLAN tag: the frame was 4 bytes
		// longer on the wire.
		if _, ok := a.(afpacket.AncillaryVLAN); ok {
			length += 4
		}
	}
	return data, ci.Timestamp, length, ci.InterfaceIndex, nil
}

func (s *afSource) drops() uint64 {
	_, v3, err := s.tp.SocketStats()
	if err != nil {
		return 0
	}
	return uint64(v3.Drops())
}

func (s *afSource) close() { s.tp.Close() }

// dropAll is a BPF program that accepts nothing.
var dropAll = []bpf.RawInstruction{{Op: unix.BPF_RET | unix.BPF_K, K: 0}}

// buildFilter returns the BPF program attached to an AF_PACKET socket: on
// loopback, a check that drops the outgoing copy of each packet; then the
// user's filter compiled by libpcap (pcap build only), or an accept of
// snapLen bytes.
func buildFilter(loopback bool, link LinkType, snapLen int, expr string) ([]bpf.RawInstruction, error) {
	var prog []bpf.RawInstruction
	if loopback {
		pre, err := bpf.Assemble([]bpf.Instruction{
			bpf.LoadExtension{Num: bpf.ExtType},
			bpf.JumpIf{Cond: bpf.JumpNotEqual, Val: unix.PACKET_OUTGOING, SkipTrue: 1},
			bpf.RetConstant{Val: 0},
		})
		if err != nil {
			return nil, fmt.Errorf("assemble loopback filter: %w", err)
		}
		prog = append(prog, pre...)
	}
	if expr == "" {
		return append(prog, bpf.RawInstruction{Op: unix.BPF_RET | unix.BPF_K, K: uint32(snapLen)}), nil
	}
	user, err := compileFilter(link, snapLen, expr)
	if err != nil {
		return nil, err
	}
	// Jumps in classic BPF are relative, so the user's program runs
	// unchanged after the prefix.
	return append(prog, user...), nil
}
