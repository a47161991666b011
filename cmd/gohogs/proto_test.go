package main

import (
	"bufio"
	"cmp"
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/gohogs/gohogs/internal/netnstest"
)

// The protocols of issue 15 beside TCP and UDP, on a veth between two
// namespaces of the test's own, with -C: ICMP and ICMPv6 (ping, and ping
// sockets of this test process), raw IP sockets, packet sockets; and the
// accounting that says where every captured byte went.

// needCommand skips t without the command (the CI installs it).
func needCommand(t *testing.T, name string) {
	t.Helper()
	netnstest.Skip(t)
	if _, err := exec.LookPath(name); err != nil {
		t.Skipf("%s not installed (.ci/run installs it): %v", name, err)
	}
}

// inNS runs fn on a thread inside ns (sockets it opens stay there).
func inNS(t *testing.T, ns string, fn func() error) {
	t.Helper()
	if err := netnstest.Do(ns, fn); err != nil {
		t.Fatal(err)
	}
}

// sysctlIn sets a sysctl inside ns (the namespace's own, not the host's).
func sysctlIn(t *testing.T, ns, setting string) {
	t.Helper()
	if out, err := exec.Command("ip", "netns", "exec", ns, "sysctl", "-qw", setting).CombinedOutput(); err != nil {
		t.Fatalf("sysctl %s: %v %s", setting, err, out)
	}
}

// echoes sends n ICMP (or ICMPv6) echo requests from a ping socket of this
// process inside ns to dst, each frame frame bytes long on the wire, and
// waits (bounded) for every reply. The socket stays open until the test
// ends, as a pinger's does while it runs (one closed before its first
// packet is looked up is not found: see procmap's doc).
func echoes(t *testing.T, ns string, dst netip.Addr, n, frame int) {
	t.Helper()
	var fd int
	inNS(t, ns, func() error {
		var err error
		if dst.Is4() {
			fd, err = unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, unix.IPPROTO_ICMP)
		} else {
			fd, err = unix.Socket(unix.AF_INET6, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, unix.IPPROTO_ICMPV6)
		}
		return err
	})
	t.Cleanup(func() { unix.Close(fd) })
	tv := unix.NsecToTimeval((5 * time.Second).Nanoseconds())
	if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
		t.Fatal(err)
	}
	var msg []byte
	var to unix.Sockaddr
	if dst.Is4() {
		msg = make([]byte, frame-14-20)
		msg[0] = 8 // echo request
		to = &unix.SockaddrInet4{Addr: dst.As4()}
	} else {
		msg = make([]byte, frame-14-40)
		msg[0] = 128
		to = &unix.SockaddrInet6{Addr: dst.As16()}
	}
	buf := make([]byte, 2048)
	for i := range n {
		binary.BigEndian.PutUint16(msg[6:], uint16(i))
		if err := unix.Sendto(fd, msg, 0, to); err != nil {
			t.Fatal(err)
		}
		if _, _, err := unix.Recvfrom(fd, buf, 0); err != nil {
			t.Fatalf("echo reply %d: %v", i, err)
		}
	}
}

// TestTraceICMP: with -C, 30 echoes of ping -s 1000 are credited to ping's
// pid, both ways; the echoes of ping sockets of this process (IPv4 and
// IPv6) to this process; the echoes B sends to A, which A's kernel
// answers, to "unknown ICMP". Without -C, the same traffic leaves only
// nethogs's "unknown TCP" row, empty.
func TestTraceICMP(t *testing.T) {
	needCommand(t, "ping")
	p := netnstest.NewPair(t)
	sysctlIn(t, p.NSA, "net.ipv4.ping_group_range=0 2147483647")
	for _, withC := range []bool{true, false} {
		t.Run(fmt.Sprint("C=", withC), func(t *testing.T) {
			args := []string{"-t", "-v", "2", "-d", "0.5", "--duration", "5s", p.IfA}
			if withC {
				args = append([]string{"-C"}, args...)
			}
			run := startGohogs(t, p.NSA, args...)
			run.capturing(t)
			const pings, size = 30, 1000
			ping := exec.Command("ip", "netns", "exec", p.NSA, "ping", "-q", "-c", strconv.Itoa(pings), "-i", "0.02", "-s", strconv.Itoa(size), p.AddrB4.String())
			if out, err := ping.CombinedOutput(); err != nil {
				t.Fatalf("ping: %v %s", err, out)
			}
			echoes(t, p.NSA, p.AddrB4, 20, 1000)
			echoes(t, p.NSA, p.AddrB6, 20, 1000)
			back := exec.Command("ip", "netns", "exec", p.NSB, "ping", "-q", "-c", "10", "-i", "0.02", p.AddrA4.String())
			if out, err := back.CombinedOutput(); err != nil {
				t.Fatalf("ping from B: %v %s", err, out)
			}
			out := run.wait(t, 15*time.Second)
			rows := lastTotals(t, out)
			if !withC {
				if len(rows) != 1 || rows[0].name != "unknown TCP" || rows[0].sent != 0 || rows[0].rcv != 0 {
					t.Fatalf("without -C: rows %+v\n%s", rows, out)
				}
				return
			}
			frame := float64(14 + 20 + 8 + size) // an echo of ping -s 1000 on the wire
			pr := rows[ping.Process.Pid]
			if pr.name != "ping" || pr.sent != pings*frame || pr.rcv != pings*frame {
				t.Errorf("ping's row %+v, want %v bytes each way", pr, pings*frame)
			}
			if own := rows[os.Getpid()]; own.sent != 40*1000 || own.rcv != 40*1000 {
				t.Errorf("this process's ping sockets: %+v, want 40000 bytes each way", own)
			}
			var unknown traceRow
			_, blocks := parseTrace(t, out)
			for id, r := range blocks[len(blocks)-1] {
				if strings.HasPrefix(id, "unknown ICMP/") {
					unknown = r
				}
			}
			t.Logf("ping %+v; own echoes %+v; unknown ICMP %+v", pr, rows[os.Getpid()], unknown)
			// B's 10 echoes (84-byte packets) and A's kernel's replies, and
			// the neighbour discovery of the IPv6 echoes.
			if unknown.sent < 10*98 || unknown.rcv < 10*98 || unknown.sent > 10*98+2000 || unknown.rcv > 10*98+2000 {
				t.Errorf("unknown ICMP %+v, want 980 bytes each way (and a few neighbour discovery frames)", unknown)
			}
		})
	}
}

// rawIPv4 is an IPv4 header of protocol proto from src to dst, for a
// packet of total bytes (the kernel fills in the id and the checksum).
func rawIPv4(src, dst netip.Addr, proto uint8, total int) []byte {
	h := make([]byte, total)
	h[0] = 0x45
	binary.BigEndian.PutUint16(h[2:], uint16(total))
	h[8] = 64
	h[9] = proto
	s, d := src.As4(), dst.As4()
	copy(h[12:], s[:])
	copy(h[16:], d[:])
	return h
}

// TestTraceRawIP: with -C, a raw socket of IP protocol 253 sending 400
// packets of 1000-byte frames, and an IPPROTO_RAW socket sending 200 of
// protocol 254 (its header included), are credited to their process (this
// test's): all that A's veth sent but a few frames of neighbour discovery.
// (B's kernel answers with protocol unreachable errors, which go to
// "unknown ICMP".)
func TestTraceRawIP(t *testing.T) {
	netnstest.Skip(t)
	p := netnstest.NewPair(t)
	run := startGohogs(t, p.NSA, "-t", "-C", "-v", "2", "-d", "0.5", "--duration", "5s", p.IfA)
	run.capturing(t)
	var raw, hdrincl int
	inNS(t, p.NSA, func() error {
		var err error
		if raw, err = unix.Socket(unix.AF_INET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, 253); err != nil {
			return err
		}
		hdrincl, err = unix.Socket(unix.AF_INET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.IPPROTO_RAW)
		return err
	})
	defer unix.Close(raw)
	defer unix.Close(hdrincl)
	to := &unix.SockaddrInet4{Addr: p.AddrB4.As4()}
	before, after := counted(t, p.NSA, p.IfA, func() {
		payload := make([]byte, 1000-14-20)
		for range 400 {
			if err := unix.Sendto(raw, payload, 0, to); err != nil {
				t.Fatal(err)
			}
		}
		pkt := rawIPv4(p.AddrA4, p.AddrB4, 254, 600-14)
		for range 200 {
			if err := unix.Sendto(hdrincl, pkt, 0, to); err != nil {
				t.Fatal(err)
			}
		}
	})
	out := run.wait(t, 15*time.Second)
	rows := lastTotals(t, out)
	own := rows[os.Getpid()]
	tx := float64(after.TxBytes - before.TxBytes)
	t.Logf("this process %+v; veth tx %v rx %v; rows %+v", own, tx, after.RxBytes-before.RxBytes, rows)
	if want := float64(400*1000 + 200*600); own.sent != want {
		t.Errorf("raw senders' row %+v, want %v bytes sent", own, want)
	}
	if own.sent < 0.99*tx {
		t.Errorf("raw senders credited %v of the %v bytes the veth sent", own.sent, tx)
	}
}

// TestTracePacketSocket: with -C, a packet socket of this process bound to
// an experimental EtherType on A's veth sends 300 frames of 1000 bytes:
// they are credited to this process; gohogs's own capture is never taken
// for the sender. Without -C they are not accounted.
func TestTracePacketSocket(t *testing.T) {
	netnstest.Skip(t)
	p := netnstest.NewPair(t)
	var fd, ifindex int
	inNS(t, p.NSA, func() error {
		ifi, err := net.InterfaceByName(p.IfA)
		if err != nil {
			return err
		}
		ifindex = ifi.Index
		proto := int(binary.NativeEndian.Uint16(binary.BigEndian.AppendUint16(nil, 0x88b5)))
		if fd, err = unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, proto); err != nil {
			return err
		}
		return unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: uint16(proto), Ifindex: ifindex})
	})
	defer unix.Close(fd)
	frame := make([]byte, 1000)
	copy(frame, []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0, 0, 1, 0x88, 0xb5})
	for _, withC := range []bool{true, false} {
		t.Run(fmt.Sprint("C=", withC), func(t *testing.T) {
			args := []string{"-t", "-v", "2", "-d", "0.5", "--duration", "4s", p.IfA}
			if withC {
				args = append([]string{"-C"}, args...)
			}
			run := startGohogs(t, p.NSA, args...)
			run.capturing(t)
			for range 300 {
				if err := unix.Sendto(fd, frame, 0, &unix.SockaddrLinklayer{Ifindex: ifindex}); err != nil {
					t.Fatal(err)
				}
			}
			out := run.wait(t, 15*time.Second)
			rows := lastTotals(t, out)
			own := rows[os.Getpid()]
			t.Logf("rows %+v", rows)
			want := 300 * 1000.0
			if !withC {
				want = 0
			}
			if own.sent != want || own.rcv != 0 {
				t.Errorf("packet socket's process %+v, want %v bytes sent", own, want)
			}
			if _, ok := rows[run.cmd.Process.Pid]; ok {
				t.Errorf("gohogs (pid %d) credited: %+v", run.cmd.Process.Pid, rows)
			}
		})
	}
}

// accountingLines reads the -x accounting lines of stderr: each refresh's
// and, at exit, the run's.
func accountingLines(t *testing.T, stderr string) (refreshes []map[string]uint64, total map[string]uint64) {
	t.Helper()
	sc := bufio.NewScanner(strings.NewReader(stderr))
	for sc.Scan() {
		l := sc.Text()
		i := strings.Index(l, "accounting ")
		if !strings.HasPrefix(l, "gohogs: ") || i < 0 {
			continue
		}
		f := strings.Fields(l[i+len("accounting "):])
		m := map[string]uint64{}
		for j := 0; j+1 < len(f); j++ {
			if v, err := strconv.ParseUint(f[j+1], 10, 64); err == nil {
				m[f[j]] = v
			}
		}
		if strings.HasPrefix(l, "gohogs: refresh ") {
			refreshes = append(refreshes, m)
		} else {
			total = m
		}
	}
	return refreshes, total
}

// TestAccountingAddsUp: TCP, UDP, ICMP and raw IP traffic over the veth,
// with -x -C: at exit gohogs prints where every byte went. The bytes
// credited to process rows plus those in the reason buckets equal the
// frames the interface counted, received and sent, within 0.1%; and the
// accounting's own sum is exact. With the default backend (eBPF where it
// loads) and with afpacket, or the one GOHOGS_TEST_BACKEND names.
func TestAccountingAddsUp(t *testing.T) {
	needCommand(t, "ping")
	backends := []string{"", "afpacket"}
	if b := os.Getenv("GOHOGS_TEST_BACKEND"); b != "" {
		backends = []string{b}
	}
	for _, b := range backends {
		t.Run("backend="+cmp.Or(b, "default"), func(t *testing.T) {
			args := []string{"-x", "-C", "-v", "2", "-d", "0.5", "--duration", "1h"}
			if b != "" {
				args = append(args, "--backend", b)
			}
			accountingAddsUp(t, args)
		})
	}
}

func accountingAddsUp(t *testing.T, args []string) {
	p, s := pairWithSink(t, "tcp", "4")
	us := startSink(t, t.Context(), p.NSB, "udp", p.AddrB4.String())
	run := startGohogs(t, p.NSA, append(args, p.IfA)...)
	run.capturing(t)
	before := readCounters(t, p.NSA, p.IfA)
	runTraffic(t, p.NSA, "tcp", s.addr, 2_000_000, 0)
	runTraffic(t, p.NSA, "udp", us.addr, 1_000_000, 4_000_000)
	if out, err := exec.Command("ip", "netns", "exec", p.NSA, "ping", "-q", "-c", "50", "-i", "0.01", "-s", "1400", p.AddrB4.String()).CombinedOutput(); err != nil {
		t.Fatalf("ping: %v %s", err, out)
	}
	var raw int
	inNS(t, p.NSA, func() error {
		var err error
		raw, err = unix.Socket(unix.AF_INET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, 253)
		return err
	})
	defer unix.Close(raw) // open until its packets are looked up
	for range 400 {
		if err := unix.Sendto(raw, make([]byte, 966), 0, &unix.SockaddrInet4{Addr: p.AddrB4.As4()}); err != nil {
			t.Fatal(err)
		}
	}
	// Every lookup answered and no byte held: 6 more refreshes (3 s, past
	// the 2 s that bytes of a flow still being looked up are held).
	r0, _ := accountingLines(t, run.stderr.String())
	n := len(r0)
	if !poll(20*time.Second, func() bool {
		r, _ := accountingLines(t, run.stderr.String())
		return len(r) >= n+6
	}) {
		t.Fatalf("no refreshes on stderr: %s", run.stderr)
	}
	run.cmd.Process.Signal(syscall.SIGINT)
	run.wait(t, 10*time.Second)
	after := readCounters(t, p.NSA, p.IfA)
	_, tot := accountingLines(t, run.stderr.String())
	var buckets uint64
	for _, r := range []string{"no_socket", "no_process", "forwarded", "netns_unreachable", "not_ip", "not_accounted", "filtered", "overflow"} {
		v, ok := tot[r]
		if !ok {
			t.Fatalf("no %s in the accounting %v", r, tot)
		}
		buckets += v
	}
	wire := float64(after.RxBytes - before.RxBytes + after.TxBytes - before.TxBytes)
	got := float64(tot["credited"] + buckets)
	t.Logf("accounting %v; veth rx+tx %v bytes; credited + buckets %v (%.4f)", tot, wire, got, got/wire)
	if sum := tot["credited"] + buckets + tot["elsewhere"] + tot["held"]; sum != tot["captured"]+tot["twice"] {
		t.Errorf("credited + buckets + elsewhere + held = %d, captured + twice = %d", sum, tot["captured"]+tot["twice"])
	}
	if tot["held"] != 0 || tot["twice"] != 0 || tot["elsewhere"] != 0 || tot["overflow"] != 0 {
		t.Errorf("held %d twice %d elsewhere %d overflow %d, want 0 on one veth after every lookup",
			tot["held"], tot["twice"], tot["elsewhere"], tot["overflow"])
	}
	if !within(got, wire, 0.001) {
		t.Errorf("credited + buckets = %v bytes, the veth counted %v", got, wire)
	}
	if float64(tot["credited"]) < 0.99*wire {
		t.Errorf("credited %d of %v bytes", tot["credited"], wire)
	}
}

// readCounters reads ifname's counters in ns.
func readCounters(t *testing.T, ns, ifname string) netnstest.Counters {
	t.Helper()
	c, err := netnstest.ReadCounters(ns, ifname)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
