package dnswatch

import (
	"cmp"
	"fmt"
	"os"
	"sync"
	"syscall"
	"time"

	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// snapLen is what the filter keeps of a packet: all of it (a TCP segment
// the kernel has not cut up yet may be 64 KiB and more).
const snapLen = 256 << 10

// rcvBuf is the socket's receive buffer: room for a burst of answers while
// the reader is late (the kernel doubles it, and may cap it at rmem_max).
const rcvBuf = 1 << 20

// loopbackIndex is the interface index of every namespace's loopback.
const loopbackIndex = 1

// gate is the start of the kernel filter: it drops the outgoing copy of
// loopback's packets (each is seen again coming in) and what is neither
// IPv4 nor IPv6. The checks need the socket's metadata (packet type,
// interface, protocol), which x/net/bpf's VM does not have: ports, which
// follows, is the part tests run in it.
var gate = []bpf.Instruction{
	bpf.LoadExtension{Num: bpf.ExtType},
	bpf.JumpIf{Cond: bpf.JumpNotEqual, Val: unix.PACKET_OUTGOING, SkipTrue: 3},
	bpf.LoadExtension{Num: bpf.ExtInterfaceIndex},
	bpf.JumpIf{Cond: bpf.JumpNotEqual, Val: loopbackIndex, SkipTrue: 1},
	bpf.RetConstant{Val: 0},
	bpf.LoadExtension{Num: bpf.ExtProto},
	bpf.JumpIf{Cond: bpf.JumpEqual, Val: unix.ETH_P_IP, SkipTrue: 2},
	bpf.JumpIf{Cond: bpf.JumpEqual, Val: unix.ETH_P_IPV6, SkipTrue: 1},
	bpf.RetConstant{Val: 0},
}

// ports passes a packet (from its IP header on) that comes from UDP or TCP
// port 53: an answer. Queries (to port 53) are not needed: the answer
// repeats the question. IPv4 fragments after the first, and IPv6 packets
// with extension headers, are dropped.
var ports = []bpf.Instruction{
	/* 0 */ bpf.LoadAbsolute{Off: 0, Size: 1},
	/* 1 */ bpf.ALUOpConstant{Op: bpf.ALUOpShiftRight, Val: 4},
	/* 2 */ bpf.JumpIf{Cond: bpf.JumpEqual, Val: 6, SkipTrue: 9}, // to 12
	/* 3 */ bpf.JumpIf{Cond: bpf.JumpNotEqual, Val: 4, SkipTrue: 14}, // to drop
	// IPv4
	/* 4 */ bpf.LoadAbsolute{Off: 9, Size: 1}, // protocol
	/* 5 */ bpf.JumpIf{Cond: bpf.JumpEqual, Val: unix.IPPROTO_UDP, SkipTrue: 1},
	/* 6 */ bpf.JumpIf{Cond: bpf.JumpNotEqual, Val: unix.IPPROTO_TCP, SkipTrue: 11},
	/* 7 */ bpf.LoadAbsolute{Off: 6, Size: 2}, // flags and fragment offset
	/* 8 */ bpf.JumpIf{Cond: bpf.JumpBitsSet, Val: 0x1fff, SkipTrue: 9},
	/* 9 */ bpf.LoadMemShift{Off: 0}, // X = header length
	/* 10 */ bpf.LoadIndirect{Off: 0, Size: 2}, // source port
	/* 11 */ bpf.JumpIf{Cond: bpf.JumpEqual, Val: dnsPort, SkipTrue: 5, SkipFalse: 6},
	// IPv6
	/* 12 */ bpf.LoadAbsolute{Off: 6, Size: 1}, // next header
	/* 13 */ bpf.JumpIf{Cond: bpf.JumpEqual, Val: unix.IPPROTO_UDP, SkipTrue: 1},
	/* 14 */ bpf.JumpIf{Cond: bpf.JumpNotEqual, Val: unix.IPPROTO_TCP, SkipTrue: 3},
	/* 15 */ bpf.LoadAbsolute{Off: 40, Size: 2}, // source port
	/* 16 */ bpf.JumpIf{Cond: bpf.JumpEqual, Val: dnsPort, SkipFalse: 1},
	/* 17 */ bpf.RetConstant{Val: snapLen},
	/* 18 */ bpf.RetConstant{Val: 0},
}

// socket is the watcher's packet socket, registered with Go's network
// poller.
type socket struct {
	fd   int
	file *os.File // owns fd
	rc   syscall.RawConn

	mu      sync.Mutex // PACKET_STATISTICS reads reset the kernel's counters
	dropped uint64
}

// openSocket opens the packet socket in the calling thread's network
// namespace: the filter is attached before it is bound to every
// interface, so nothing else ever arrives.
func openSocket() (s *socket, err error) {
	prog, err := bpf.Assemble(append(append([]bpf.Instruction(nil), gate...), ports...))
	if err != nil {
		return nil, fmt.Errorf("assemble the port 53 filter: %w", err)
	}
	// Protocol 0: nothing arrives until bind names one.
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, 0)
	if err != nil {
		return nil, fmt.Errorf("open AF_PACKET socket: %w", err)
	}
	s = &socket{fd: fd}
	defer func() {
		if err != nil {
			unix.Close(fd)
		}
	}()
	ins := make([]unix.SockFilter, len(prog))
	for i, p := range prog {
		ins[i] = unix.SockFilter{Code: p.Op, Jt: p.Jt, Jf: p.Jf, K: p.K}
	}
	fp := unix.SockFprog{Len: uint16(len(ins)), Filter: &ins[0]}
	if err := unix.SetsockoptSockFprog(fd, unix.SOL_SOCKET, unix.SO_ATTACH_FILTER, &fp); err != nil {
		return nil, fmt.Errorf("attach the port 53 filter: %w", err)
	}
	// Beyond rmem_max needs CAP_NET_ADMIN; without it, what the kernel allows.
	if unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, rcvBuf) != nil {
		unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, rcvBuf)
	}
	if err := unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_ALL)}); err != nil {
		return nil, fmt.Errorf("bind AF_PACKET socket: %w", err)
	}
	s.file = os.NewFile(uintptr(fd), "packet:dns")
	if s.rc, err = s.file.SyscallConn(); err != nil {
		s.file.Close()
		s.file = nil
		return nil, fmt.Errorf("register with the poller: %w", err)
	}
	return s, nil
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

// read waits for the next packet and reads it into buf: its length and
// the interface it crossed. It returns os.ErrDeadlineExceeded after
// stop.
func (s *socket) read(buf []byte) (n, ifindex int, err error) {
	var rerr error
	err = s.rc.Read(func(fd uintptr) bool {
		var from unix.Sockaddr
		n, from, rerr = unix.Recvfrom(int(fd), buf, 0)
		if rerr == unix.EAGAIN {
			return false
		}
		if ll, ok := from.(*unix.SockaddrLinklayer); ok {
			ifindex = ll.Ifindex
		}
		return true
	})
	if err == nil {
		err = rerr
	}
	return n, ifindex, err
}

// stop makes a read that waits, and every later one, return.
func (s *socket) stop() { s.file.SetReadDeadline(time.Unix(1, 0)) }

// ifName returns the name of the interface with this index in the
// socket's namespace.
func (s *socket) ifName(index int) (string, error) {
	ifr, err := unix.NewIfreq("")
	if err != nil {
		return "", err
	}
	ifr.SetUint32(uint32(index))
	var name string
	cerr := s.rc.Control(func(fd uintptr) {
		if err = unix.IoctlIfreq(int(fd), unix.SIOCGIFNAME, ifr); err == nil {
			name = ifr.Name()
		}
	})
	return name, cmp.Or(cerr, err)
}

// drops returns how many answers the kernel dropped for want of room in
// the receive buffer, since the socket was opened.
func (s *socket) drops() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rc.Control(func(fd uintptr) {
		if st, err := unix.GetsockoptTpacketStats(int(fd), unix.SOL_PACKET, unix.PACKET_STATISTICS); err == nil {
			s.dropped += uint64(st.Drops)
		}
	})
	return s.dropped
}

func (s *socket) close() error { return s.file.Close() }
