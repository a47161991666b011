package capture

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// Ring geometry of the AF_PACKET backend.
const (
	afBlockSize    = 256 << 10              // one block is handed over when full or after afBlockTimeout
	afFrameSize    = 2048                   // TPACKET_V3 packs packets in blocks; this only sets tp_frame_nr
	afBlockTimeout = 10 * time.Millisecond  // latency of a block with few packets
	afPollTimeout  = 100 * time.Millisecond // bounds a read, so Run notices ctx and Close
)

// Offsets in the TPACKET_V3 ring (<linux/if_packet.h>). A block starts with
// struct tpacket_block_desc, whose tpacket_hdr_v1 begins at byte 8; each
// packet starts with struct tpacket3_hdr (48 bytes), followed by its
// struct sockaddr_ll.
const (
	blkStatus      = 8  // block_status
	blkNumPkts     = 12 // num_pkts
	blkFirstPkt    = 16 // offset_to_first_pkt
	blkDescLen     = 48 // sizeof(struct tpacket_block_desc)
	pktNextOffset  = 0  // tp_next_offset
	pktSec         = 4  // tp_sec
	pktNsec        = 8  // tp_nsec
	pktSnaplen     = 12 // tp_snaplen
	pktLen         = 16 // tp_len
	pktStatus      = 20 // tp_status
	pktMac         = 24 // tp_mac (u16)
	pktHdrLen      = 48 // sizeof(struct tpacket3_hdr)
	sllIfindex     = pktHdrLen + 4
	sllPkttype     = pktHdrLen + 10
	pktMinLen      = pktHdrLen + 20 // header and sockaddr_ll
	tpStatusUser   = unix.TP_STATUS_USER
	tpStatusVLAN   = unix.TP_STATUS_VLAN_VALID
	tpStatusKernel = unix.TP_STATUS_KERNEL
)

// afSource is one interface read through a TPACKET_V3 memory-mapped ring.
//
// The ring is walked in place: a frame's bytes are read where the kernel
// wrote them, and a block goes back to the kernel when the next read moves
// past it. The socket is non-blocking and registered with Go's network
// poller, so waiting for a block parks only the goroutine: no OS thread
// sits in poll(2), and the runtime does not have to hand its P over.
//
// gopacket's afpacket does the same walk but does not expose the packet
// type (sll_pkttype), and waits in a blocking poll(2).
type afSource struct {
	fd    int
	file  *os.File // owns fd, for the poller
	rc    syscall.RawConn
	ring  []byte
	nblk  int
	blkSz int

	blk  int  // current block
	held bool // the current block belongs to us (TP_STATUS_USER seen)
	left uint32
	next int // offset in ring of the next packet of the current block

	ready  func(fd uintptr) bool // s.blockReady, allocated once
	woken  bool                  // blockReady was called at least once in this wait
	sockEr error                 // the socket's pending error, found by blockReady

	mu      sync.Mutex // serializes PACKET_STATISTICS reads (they reset the counters)
	dropped atomic.Uint64
}

// openAFPacket opens a ring on interface name, attaches prog (which sets
// the snap length and filters) and only then binds the socket to the
// interface, so nothing arrives before the filter is in place. With
// cooked set the socket is SOCK_DGRAM: frames start at the network header.
func openAFPacket(name string, cooked bool, prog []bpf.RawInstruction, opts *Options) (src source, err error) {
	ifi, err := ifindexOf(name)
	if err != nil {
		return nil, err
	}
	typ := unix.SOCK_RAW
	if cooked {
		typ = unix.SOCK_DGRAM
	}
	// Protocol 0: the socket receives nothing until bind names one.
	fd, err := unix.Socket(unix.AF_PACKET, typ|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, 0)
	if err != nil {
		return nil, fmt.Errorf("open AF_PACKET socket: %w", err)
	}
	s := &afSource{fd: fd, blkSz: afBlockSize}
	defer func() {
		if err != nil {
			s.close()
		}
	}()
	if err := unix.SetsockoptInt(fd, unix.SOL_PACKET, unix.PACKET_VERSION, unix.TPACKET_V3); err != nil {
		return nil, fmt.Errorf("set TPACKET_V3: %w", err)
	}
	s.nblk = opts.RingBytes / afBlockSize
	if s.nblk < 2 {
		s.nblk = 2
	}
	req := unix.TpacketReq3{
		Block_size:     afBlockSize,
		Block_nr:       uint32(s.nblk),
		Frame_size:     afFrameSize,
		Frame_nr:       uint32(s.nblk * (afBlockSize / afFrameSize)),
		Retire_blk_tov: uint32(afBlockTimeout / time.Millisecond),
	}
	if err := unix.SetsockoptTpacketReq3(fd, unix.SOL_PACKET, unix.PACKET_RX_RING, &req); err != nil {
		return nil, fmt.Errorf("set up the capture ring (%d blocks of %d bytes): %w", s.nblk, afBlockSize, err)
	}
	if s.ring, err = unix.Mmap(fd, 0, s.nblk*afBlockSize, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED); err != nil {
		return nil, fmt.Errorf("map the capture ring: %w", err)
	}
	if err := attachFilter(fd, prog); err != nil {
		return nil, err
	}
	if opts.Promiscuous {
		mreq := unix.PacketMreq{Ifindex: int32(ifi), Type: unix.PACKET_MR_PROMISC}
		if err := unix.SetsockoptPacketMreq(fd, unix.SOL_PACKET, unix.PACKET_ADD_MEMBERSHIP, &mreq); err != nil {
			return nil, fmt.Errorf("set promiscuous mode: %w", err)
		}
	}
	sa := &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_ALL), Ifindex: ifi}
	if err := unix.Bind(fd, sa); err != nil {
		return nil, fmt.Errorf("bind to interface: %w", err)
	}
	s.file = os.NewFile(uintptr(fd), "packet:"+name)
	if s.rc, err = s.file.SyscallConn(); err != nil {
		return nil, fmt.Errorf("register with the poller: %w", err)
	}
	s.ready = s.blockReady
	return s, nil
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

// status returns block b's block_status, read as the kernel publishes it.
func (s *afSource) status(b int) uint32 {
	return atomic.LoadUint32((*uint32)(unsafe.Pointer(&s.ring[b*s.blkSz+blkStatus])))
}

// release hands the current block back to the kernel and moves to the next.
func (s *afSource) release() {
	atomic.StoreUint32((*uint32)(unsafe.Pointer(&s.ring[s.blk*s.blkSz+blkStatus])), tpStatusKernel)
	s.held = false
	s.blk++
	if s.blk == s.nblk {
		s.blk = 0
	}
}

func (s *afSource) read(fr *frame) error {
	for {
		if s.held && s.left > 0 {
			if s.frame(fr) {
				return nil
			}
			// A header that does not fit its block: give the block back.
			s.left = 0
		}
		if s.held {
			s.release()
		}
		if s.status(s.blk)&tpStatusUser == 0 {
			if err := s.wait(); err != nil {
				return err
			}
			continue
		}
		base := s.blk * s.blkSz
		b := s.ring[base : base+s.blkSz]
		s.held = true
		s.left = binary.NativeEndian.Uint32(b[blkNumPkts:])
		s.next = base + int(binary.NativeEndian.Uint32(b[blkFirstPkt:]))
	}
}

// frame decodes the packet at s.next into fr and moves past it. It
// returns false if the kernel's offsets point outside the block.
func (s *afSource) frame(fr *frame) bool {
	end := (s.blk + 1) * s.blkSz
	off := s.next
	if off < s.blk*s.blkSz+blkDescLen || off+pktMinLen > end {
		return false
	}
	h := s.ring[off : off+pktMinLen]
	mac := off + int(binary.NativeEndian.Uint16(h[pktMac:]))
	snap := int(binary.NativeEndian.Uint32(h[pktSnaplen:]))
	if mac < off+pktMinLen || mac+snap > end {
		return false
	}
	fr.data = s.ring[mac : mac+snap : mac+snap]
	fr.ts = time.Unix(int64(binary.NativeEndian.Uint32(h[pktSec:])), int64(binary.NativeEndian.Uint32(h[pktNsec:])))
	fr.length = int(binary.NativeEndian.Uint32(h[pktLen:]))
	if binary.NativeEndian.Uint32(h[pktStatus:])&tpStatusVLAN != 0 {
		// The NIC or driver stripped a VLAN tag: the frame was 4 bytes
		// longer on the wire.
		fr.length += 4
	}
	fr.ifindex = int(int32(binary.NativeEndian.Uint32(h[sllIfindex:])))
	fr.ptype = PacketType(h[sllPkttype])
	s.left--
	if n := binary.NativeEndian.Uint32(h[pktNextOffset:]); n != 0 {
		s.next = off + int(n)
	} else {
		s.left = 0
	}
	return true
}

// blockReady is the poller's callback: it is called once, then again
// after each wake-up, until it returns true. A wake-up without a block is
// how an error shows: epoll reports EPOLLERR together with EPOLLOUT, which
// Go's poller takes as readiness, not as an error.
func (s *afSource) blockReady(fd uintptr) bool {
	if s.status(s.blk)&tpStatusUser != 0 {
		return true
	}
	if s.woken {
		if e, err := unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_ERROR); err == nil && e != 0 {
			s.sockEr = unix.Errno(e)
			return true
		}
	}
	s.woken = true
	return false
}

// wait parks until the current block is handed over, afPollTimeout passes
// (errTimeout), or the socket fails (the interface went down or away).
func (s *afSource) wait() error {
	if err := s.file.SetReadDeadline(time.Now().Add(afPollTimeout)); err != nil {
		return fmt.Errorf("set read deadline: %w", err)
	}
	s.woken, s.sockEr = false, nil
	err := s.rc.Read(s.ready)
	if err == nil {
		if s.sockEr != nil {
			return fmt.Errorf("read ring: %w", s.sockEr)
		}
		return nil
	}
	if errors.Is(err, os.ErrDeadlineExceeded) {
		// An error raised while nobody waited has no wake-up of its own.
		if e, gerr := unix.GetsockoptInt(s.fd, unix.SOL_SOCKET, unix.SO_ERROR); gerr == nil && e != 0 {
			return fmt.Errorf("read ring: %w", unix.Errno(e))
		}
		return errTimeout
	}
	if errors.Is(err, os.ErrClosed) {
		return fmt.Errorf("read ring: %w", err)
	}
	// An error event: the socket's pending error says which.
	if e, gerr := unix.GetsockoptInt(s.fd, unix.SOL_SOCKET, unix.SO_ERROR); gerr == nil && e != 0 {
		return fmt.Errorf("read ring: %w", unix.Errno(e))
	}
	return fmt.Errorf("read ring: %w", err)
}

// drops returns the kernel drops since the source was opened.
func (s *afSource) drops() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.file != nil {
		var st unix.TpacketStatsV3
		l := uint32(unsafe.Sizeof(st))
		var sysErr error
		// Reading PACKET_STATISTICS resets the kernel's counters.
		cerr := s.rc.Control(func(fd uintptr) {
			_, _, e := unix.Syscall6(unix.SYS_GETSOCKOPT, fd, unix.SOL_PACKET, unix.PACKET_STATISTICS,
				uintptr(unsafe.Pointer(&st)), uintptr(unsafe.Pointer(&l)), 0)
			if e != 0 {
				sysErr = e
			}
		})
		if cerr == nil && sysErr == nil {
			s.dropped.Add(uint64(st.Drops))
		}
	}
	return s.dropped.Load()
}

func (s *afSource) close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ring != nil {
		_ = unix.Munmap(s.ring)
		s.ring = nil
	}
	if s.file != nil {
		s.file.Close()
		s.file = nil
	} else if s.fd >= 0 {
		unix.Close(s.fd)
	}
	s.fd = -1
}
