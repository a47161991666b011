package procmap

import (
	"encoding/binary"
	"errors"
	"net"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/gohogs/gohogs/internal/netnstest"
)

// TestFixtureResolvePacket: the sender of a frame is the packet socket
// bound to its EtherType on its interface, else one that receives nothing
// (protocol 0), else one bound to every protocol; on the frame's
// interface before on none. Two processes' sockets equally good are no
// answer; a socket whose holder is not seen is an owner without process.
func TestFixtureResolvePacket(t *testing.T) {
	root := copyTree(t, "testdata/proc1")
	table := "sk               RefCnt Type Proto  Iface R Rmem   User   Inode\n" +
		"ffff000000000001 3      3    88b5   2     1 0      0      7001\n" +
		"ffff000000000002 3      3    0003   0     1 0      0      7002\n" +
		"ffff000000000003 3      3    88b6   2     1 0      33     7003\n" +
		"ffff000000000004 3      2    88b6   2     1 0      1000   7004\n" +
		"ffff000000000005 3      3    0000   0     0 0      0      7005\n" +
		"ffff000000000006 3      3    88b7   2     1 0      1000   7006\n"
	if err := os.WriteFile(filepath.Join(root, "net/packet"), []byte(table), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, l := range []struct{ pid, fd, ino string }{
		{"100", "6", "7001"}, {"200", "8", "7002"}, {"300", "10", "7003"}, {"200", "9", "7004"}, {"400", "6", "7005"},
	} {
		if err := os.Symlink("socket:["+l.ino+"]", filepath.Join(root, l.pid, "fd", l.fd)); err != nil {
			t.Fatal(err)
		}
	}
	r := fixture(t, root, Options{})
	for _, tc := range []struct {
		name  string
		f     PacketFlow
		inode uint64
		pid   int // 0: no process
	}{
		{"exact", PacketFlow{IfIndex: 2, EtherType: 0x88b5}, 7001, 100},
		{"other interface: the send-only socket", PacketFlow{IfIndex: 3, EtherType: 0x88b5}, 7005, 400},
		{"send-only before every protocol", PacketFlow{IfIndex: 5, EtherType: 0x0806}, 7005, 400},
		{"holder not seen", PacketFlow{IfIndex: 2, EtherType: 0x88b7}, 7006, 0},
		{"two processes alike", PacketFlow{IfIndex: 2, EtherType: 0x88b6}, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o, err := r.ResolvePacket(tc.f)
			if tc.inode == 0 {
				if !errors.Is(err, ErrNotFound) {
					t.Fatalf("got %+v, %v; want ErrNotFound", o, err)
				}
				return
			}
			if err != nil || o.Inode != tc.inode {
				t.Fatalf("got %+v, %v; want inode %d", o, err, tc.inode)
			}
			if (o.Process == nil) != (tc.pid == 0) || (o.Process != nil && o.Process.PID != tc.pid) {
				t.Fatalf("process %+v, want pid %d", o.Process, tc.pid)
			}
		})
	}
	if st := r.Stats(); st.PacketLookups != 5 || st.Misses != 1 || st.NoProcess != 1 {
		t.Errorf("stats %+v", st)
	}
	if _, err := r.ResolvePacket(PacketFlow{NetNS: 4026539999, IfIndex: 2, EtherType: 0x88b5}); !errors.Is(err, ErrNamespaceUnreachable) {
		t.Errorf("unknown namespace: %v, want ErrNamespaceUnreachable", err)
	}
}

// TestLiveResolvePacket: in a namespace of the test's own, a packet socket
// of this process sends frames of an experimental EtherType on the veth; a
// capture with a receive ring and a socket bound to every protocol are
// there too. Through packet_diag and through /proc/net/packet, the sender
// is found; the capture is never taken for it, and in the process that
// made the Resolver the sender is not credited (it is gohogs's own) unless
// another process holds it.
func TestLiveResolvePacket(t *testing.T) {
	p := netnstest.NewPair(t)
	nsA := nsInodeOf(t, p.NSA)
	var send, ring, all, ifindex int
	err := netnstest.Do(p.NSA, func() error {
		ifi, err := net.InterfaceByName(p.IfA)
		if err != nil {
			return err
		}
		ifindex = ifi.Index
		if send, err = unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, int(htons(0x88b5))); err != nil {
			return err
		}
		if err := unix.Bind(send, &unix.SockaddrLinklayer{Protocol: htons(0x88b5), Ifindex: ifindex}); err != nil {
			return err
		}
		if ring, err = unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, int(htons(0x88b5))); err != nil {
			return err
		}
		if err := unix.Bind(ring, &unix.SockaddrLinklayer{Protocol: htons(0x88b5), Ifindex: ifindex}); err != nil {
			return err
		}
		req := unix.TpacketReq{Block_size: 1 << 16, Block_nr: 2, Frame_size: 1 << 11, Frame_nr: 64}
		if err := unix.SetsockoptTpacketReq(ring, unix.SOL_PACKET, unix.PACKET_RX_RING, &req); err != nil {
			return err
		}
		all, err = unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, int(htons(unix.ETH_P_ALL)))
		return err
	})
	for _, fd := range []int{send, ring, all} {
		if fd > 0 {
			defer unix.Close(fd)
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	frame := make([]byte, 1000)
	copy(frame, []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0, 0, 1, 0x88, 0xb5})
	if err := unix.Sendto(send, frame, 0, &unix.SockaddrLinklayer{Ifindex: ifindex}); err != nil {
		t.Fatal(err)
	}
	ino := func(fd int) uint64 {
		var st unix.Stat_t
		if err := unix.Fstat(fd, &st); err != nil {
			t.Fatal(err)
		}
		return st.Ino
	}
	f := PacketFlow{NetNS: nsA, IfIndex: ifindex, EtherType: 0x88b5}
	bothModes(t, func(t *testing.T, r *Resolver) {
		// The sender is this process's: the Resolver's own. In sock_diag
		// mode the ring is a capture, not a candidate; through the table
		// it is this process's too. What is left is the socket bound to
		// every protocol, also this process's: nothing.
		if o, err := r.ResolvePacket(f); !errors.Is(err, ErrNotFound) {
			t.Fatalf("own sockets: got %+v, %v; want ErrNotFound", o, err)
		}
		// Seen as another process's (the Resolver's own pid changed).
		r.live = false
		defer func() { r.live = true }()
		// (The table does not show rings: the capture is as good as the
		// sender there, and of the same process.)
		o, err := r.ResolvePacket(f)
		if err != nil || (o.Inode != ino(send) && !(r.noNetlink && o.Inode == ino(ring))) ||
			o.Process == nil || o.Process.PID != os.Getpid() {
			t.Fatalf("got %+v, %v; want inode %d of pid %d", o, err, ino(send), os.Getpid())
		}
	})
}

// htons converts a 16-bit value to network order, as the packet socket
// calls want their protocol.
func htons(v uint16) uint16 {
	return binary.NativeEndian.Uint16(binary.BigEndian.AppendUint16(nil, v))
}
