package sockdiag

import (
	"encoding/binary"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/gohogs/gohogs/internal/netnstest"
)

// packetMsg is a struct packet_diag_msg with its attributes: the info
// (ifindex), the uid, and the rings asked for.
func packetMsg(typ uint8, proto uint16, inode uint32, ifindex int32, uid uint32, rx, tx bool) []byte {
	b := make([]byte, packetMsgLen)
	b[0], b[1] = unix.AF_PACKET, typ
	binary.NativeEndian.PutUint16(b[2:], proto)
	binary.NativeEndian.PutUint32(b[4:], inode)
	attr := func(t uint16, v []byte) {
		a := make([]byte, 4+len(v))
		binary.NativeEndian.PutUint16(a[0:], uint16(4+len(v)))
		binary.NativeEndian.PutUint16(a[2:], t)
		copy(a[4:], v)
		for len(a)%4 != 0 {
			a = append(a, 0)
		}
		b = append(b, a...)
	}
	info := make([]byte, 24)
	binary.NativeEndian.PutUint32(info, uint32(ifindex))
	attr(packetDiagInfo, info)
	attr(packetDiagUID, binary.NativeEndian.AppendUint32(nil, uid))
	if rx {
		attr(packetDiagRxRing, make([]byte, 28))
	}
	if tx {
		attr(packetDiagTxRing, make([]byte, 28))
	}
	return b
}

// TestPacketSocketsDump: the request is a dump of AF_PACKET with the info
// and the rings; a reply over two datagrams, with a stale message of an
// earlier request, is decoded to its end.
func TestPacketSocketsDump(t *testing.T) {
	c, reqs := fakeKernel(t, func(req []byte) [][]byte {
		seq := seqOf(req)
		return [][]byte{
			append(message(sockDiagByFamily, seq-1, packetMsg(3, 3, 1, 0, 0, false, false)),
				message(sockDiagByFamily, seq, packetMsg(unix.SOCK_RAW, 0x88b5, 77, 4, 1000, false, false))...),
			append(message(sockDiagByFamily, seq, packetMsg(unix.SOCK_RAW, 3, 78, 0, 0, true, false)),
				message(unix.NLMSG_DONE, seq, make([]byte, 4))...),
		}
	})
	got, err := c.PacketSockets(nil)
	if err != nil {
		t.Fatal(err)
	}
	req := <-reqs
	if len(req) != unix.NLMSG_HDRLEN+packetReqLen || binary.NativeEndian.Uint16(req[6:])&unix.NLM_F_DUMP == 0 ||
		req[unix.NLMSG_HDRLEN] != unix.AF_PACKET || binary.NativeEndian.Uint32(req[unix.NLMSG_HDRLEN+8:]) != packetShowInfo|packetShowRing {
		t.Errorf("request % x", req)
	}
	want := []PacketSocket{
		{Type: unix.SOCK_RAW, Protocol: 0x88b5, IfIndex: 4, UID: 1000, Inode: 77},
		{Type: unix.SOCK_RAW, Protocol: 3, Inode: 78, RxRing: true},
	}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("got %+v, want %+v", got, want)
	}
}

// TestLivePacketSockets: in a namespace of the test's own, a packet socket
// bound to an EtherType on lo, and one with a receive ring bound to every
// protocol, are listed with their inodes, interface, protocol and rings.
func TestLivePacketSockets(t *testing.T) {
	netnstest.Skip(t)
	ns := netnstest.NewLoopback(t, "sdP")
	var send, ring int
	var c *Conn
	if err := netnstest.Do(ns, func() error {
		var err error
		if send, err = unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, int(htons(0x88b5))); err != nil {
			return err
		}
		if err := unix.Bind(send, &unix.SockaddrLinklayer{Protocol: htons(0x88b5), Ifindex: 1}); err != nil {
			return err
		}
		if ring, err = unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, int(htons(unix.ETH_P_ALL))); err != nil {
			return err
		}
		req := unix.TpacketReq{Block_size: 1 << 16, Block_nr: 2, Frame_size: 1 << 11, Frame_nr: 64}
		if err := unix.SetsockoptTpacketReq(ring, unix.SOL_PACKET, unix.PACKET_RX_RING, &req); err != nil {
			return err
		}
		c, err = Dial("")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer unix.Close(send)
	defer unix.Close(ring)
	defer c.Close()
	ino := func(fd int) uint64 {
		var st unix.Stat_t
		if err := unix.Fstat(fd, &st); err != nil {
			t.Fatal(err)
		}
		return st.Ino
	}
	got, err := c.PacketSockets(nil)
	if err != nil {
		t.Fatal(err)
	}
	want := map[uint64]PacketSocket{
		ino(send): {Type: unix.SOCK_RAW, Protocol: 0x88b5, IfIndex: 1, Inode: ino(send)},
		ino(ring): {Type: unix.SOCK_RAW, Protocol: unix.ETH_P_ALL, Inode: ino(ring), RxRing: true},
	}
	if len(got) != len(want) {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	for _, s := range got {
		if want[s.Inode] != s {
			t.Errorf("got %+v, want %+v", s, want[s.Inode])
		}
	}
}

// htons converts a 16-bit value to network order, as the packet socket
// calls want their protocol.
func htons(v uint16) uint16 {
	return binary.NativeEndian.Uint16(binary.BigEndian.AppendUint16(nil, v))
}
