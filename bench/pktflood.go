package main

import (
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"runtime"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// genPktFlood: IFACE SRC DST DURATION SENDERS. SENDERS goroutines, each
// with its own AF_PACKET socket and PACKET_TX_RING on IFACE, send 64-byte
// UDP/IPv4 frames from SRC to DST as fast as the kernel takes them for
// DURATION: the frames are written into the ring once and handed back to
// the kernel in batches, one send(2) per batch, with no copy from user
// space and no socket buffer. Their destination MAC address is no host's,
// so the far end of a veth drops them as soon as they arrive (as
// PACKET_OTHERHOST, before IP), which keeps its cost low and the rate
// high; the near end's tcx hooks and packet taps see every one. Prints
// "frames N".
func genPktFlood(a []string) error {
	if len(a) != 5 {
		return fmt.Errorf("want IFACE SRC DST DURATION SENDERS, got %q", a)
	}
	ifi, err := net.InterfaceByName(a[0])
	if err != nil {
		return err
	}
	src, err1 := netip.ParseAddr(a[1])
	dst, err2 := netip.ParseAddr(a[2])
	dur, err3 := time.ParseDuration(a[3])
	senders := atoi(a[4])
	if err1 != nil || err2 != nil || err3 != nil || !src.Is4() || !dst.Is4() || senders <= 0 {
		return fmt.Errorf("bad pktflood arguments %q", a)
	}
	frame := floodFrame(src, dst)
	end := time.Now().Add(dur)
	counts := make(chan uint64, senders)
	errs := make(chan error, senders)
	for i := range senders {
		go func() {
			runtime.LockOSThread()
			n, err := txRingSend(ifi.Index, frame, uint16(40000+i), end)
			counts <- n
			errs <- err
		}()
	}
	var total uint64
	var first error
	for range senders {
		total += <-counts
		if err := <-errs; err != nil && first == nil {
			first = err
		}
	}
	fmt.Printf("frames %d\n", total)
	return first
}

// floodFrame is a 64-byte Ethernet frame (no FCS) of one UDP/IPv4
// datagram of 22 bytes, to a MAC address no host has.
func floodFrame(src, dst netip.Addr) []byte {
	f := []byte{0x02, 0, 0, 0, 0, 0x01, 0x02, 0, 0, 0, 0, 0x02, 0x08, 0x00}
	ip := make([]byte, 20)
	ip[0], ip[8], ip[9] = 0x45, 64, 17
	binary.BigEndian.PutUint16(ip[2:], 20+8+22)
	s, d := src.As4(), dst.As4()
	copy(ip[12:], s[:])
	copy(ip[16:], d[:])
	var sum uint32
	for i := 0; i < 20; i += 2 {
		sum += uint32(binary.BigEndian.Uint16(ip[i:]))
	}
	for sum > 0xffff {
		sum = sum&0xffff + sum>>16
	}
	binary.BigEndian.PutUint16(ip[10:], ^uint16(sum))
	f = append(f, ip...)
	udp := make([]byte, 8+22)
	binary.BigEndian.PutUint16(udp[2:], portUDP)
	binary.BigEndian.PutUint16(udp[4:], 8+22)
	return append(f, udp...)
}

// The TX ring: TPACKET_V2 frames of txFrameSize bytes, the packet at
// txDataOff (the header, aligned), in page-sized blocks.
const (
	txFrameSize = 128
	txDataOff   = 32 // TPACKET_ALIGN(sizeof(struct tpacket2_hdr))
	txBlockSize = 4096
	txBlocks    = 256
	txFrames    = txBlocks * txBlockSize / txFrameSize
	txBatch     = 256
)

// txRingSend sends frame (with its UDP source port set to sport) through a
// TX ring on interface ifindex until end and returns how many frames the
// kernel took.
func txRingSend(ifindex int, frame []byte, sport uint16, end time.Time) (uint64, error) {
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return 0, fmt.Errorf("packet socket: %w", err)
	}
	defer unix.Close(fd)
	if err := unix.SetsockoptInt(fd, unix.SOL_PACKET, unix.PACKET_VERSION, unix.TPACKET_V2); err != nil {
		return 0, fmt.Errorf("TPACKET_V2: %w", err)
	}
	req := unix.TpacketReq{Block_size: txBlockSize, Block_nr: txBlocks, Frame_size: txFrameSize, Frame_nr: txFrames}
	if err := unix.SetsockoptTpacketReq(fd, unix.SOL_PACKET, unix.PACKET_TX_RING, &req); err != nil {
		return 0, fmt.Errorf("PACKET_TX_RING: %w", err)
	}
	ring, err := unix.Mmap(fd, 0, txBlockSize*txBlocks, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		return 0, fmt.Errorf("mmap the TX ring: %w", err)
	}
	defer unix.Munmap(ring)
	if err := unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_ALL), Ifindex: ifindex}); err != nil {
		return 0, fmt.Errorf("bind: %w", err)
	}
	f := append([]byte(nil), frame...)
	binary.BigEndian.PutUint16(f[14+20:], sport)
	for i := range txFrames {
		h := (*unix.Tpacket2Hdr)(unsafe.Pointer(&ring[i*txFrameSize]))
		h.Len = uint32(len(f))
		copy(ring[i*txFrameSize+txDataOff:], f)
	}
	var sent uint64
	next := 0
	for time.Now().Before(end) {
		queued := 0
		for queued < txBatch {
			st := (*uint32)(unsafe.Pointer(&ring[next*txFrameSize]))
			if atomic.LoadUint32(st) != unix.TP_STATUS_AVAILABLE {
				break // not sent yet: flush what is queued, then come back
			}
			atomic.StoreUint32(st, unix.TP_STATUS_SEND_REQUEST)
			next = (next + 1) % txFrames
			queued++
		}
		// A blocking send returns once the kernel has taken every frame
		// queued in the ring.
		if _, err := unix.Write(fd, nil); err != nil && err != unix.ENOBUFS && err != unix.EAGAIN {
			return sent, fmt.Errorf("send: %w", err)
		}
		sent += uint64(queued)
	}
	return sent, nil
}

// htons converts a 16-bit value to network byte order.
func htons(v uint16) uint16 { return v<<8 | v>>8 }
