package netnstest

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestPairCarriesTraffic checks that a pair is usable end to end: a TCP
// connection from A to B moves known bytes, and B's veth counters grow.
func TestPairCarriesTraffic(t *testing.T) {
	p := NewPair(t)
	if !p.OffloadsOff {
		t.Log("ethtool missing or failed: offloads stay on")
	}
	var ln net.Listener
	if err := Do(p.NSB, func() (err error) {
		ln, err = net.Listen("tcp", net.JoinHostPort(p.AddrB4.String(), "0"))
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	got := Discard(ln, 5*time.Second)
	before, err := ReadCounters(p.NSB, p.IfB)
	if err != nil {
		t.Fatal(err)
	}
	var c net.Conn
	if err := Do(p.NSA, func() (err error) {
		c, err = net.DialTimeout("tcp", ln.Addr().String(), 3*time.Second)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	const n = 100000
	if _, err := c.Write(make([]byte, n)); err != nil {
		t.Fatal(err)
	}
	c.Close()
	select {
	case m := <-got:
		if m != n {
			t.Fatalf("received %d bytes, want %d", m, n)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("timeout")
	}
	after, err := ReadCounters(p.NSB, p.IfB)
	if err != nil {
		t.Fatal(err)
	}
	if d := after.Sub(before).RxBytes; d < n {
		t.Fatalf("rx_bytes grew by %d, want at least %d", d, n)
	}
}

// TestPairReadyAtOnce: a pair is ready when NewPair returns: UDP over IPv4
// and over IPv6 sent at once all arrives within 0.5 s. (While an end's
// operational state is still coming up, IPv6 neighbour discovery fails
// and retries a second later: the datagrams then wait in the neighbour
// queue, or are dropped when it is full.)
func TestPairReadyAtOnce(t *testing.T) {
	for _, fam := range []string{"udp4", "udp6"} {
		t.Run(fam, func(t *testing.T) {
			p := NewPair(t)
			to := p.AddrB4
			if fam == "udp6" {
				to = p.AddrB6
			}
			var ln net.PacketConn
			if err := Do(p.NSB, func() (err error) {
				ln, err = net.ListenPacket(fam, net.JoinHostPort(to.String(), "0"))
				return err
			}); err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			var c net.Conn
			if err := Do(p.NSA, func() (err error) {
				c, err = net.Dial(fam, ln.LocalAddr().String())
				return err
			}); err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			// 100 datagrams of 100 bytes: far below the receive buffer.
			const n = 100
			for range n {
				if _, err := c.Write(make([]byte, 100)); err != nil {
					t.Fatal(err)
				}
			}
			got := 0
			_ = ln.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
			buf := make([]byte, 200)
			for got < n {
				if _, _, err := ln.ReadFrom(buf); err != nil {
					break
				}
				got++
			}
			if got != n {
				t.Errorf("B received %d of %d datagrams sent right after NewPair within 0.5 s", got, n)
			}
		})
	}
}

// TestReadCounters: one UDP datagram of known size on a loopback of the
// test's own moves lo's counters by exactly one packet of payload + 28
// bytes (lo counts IP packets), and netlink reports what /sys reports.
func TestReadCounters(t *testing.T) {
	ns := NewLoopback(t, "ghc")
	before, err := ReadCounters(ns, "lo")
	if err != nil {
		t.Fatal(err)
	}
	const payload = 1234
	if err := Do(ns, func() error {
		// A listener, so that the kernel sends no ICMP port unreachable.
		ln, err := net.ListenPacket("udp4", "127.0.0.1:0")
		if err != nil {
			return err
		}
		defer ln.Close()
		c, err := net.Dial("udp4", ln.LocalAddr().String())
		if err != nil {
			return err
		}
		defer c.Close()
		_, err = c.Write(make([]byte, payload))
		return err
	}); err != nil {
		t.Fatal(err)
	}
	after, err := ReadCounters(ns, "lo")
	if err != nil {
		t.Fatal(err)
	}
	if d, want := after.Sub(before), (Counters{RxPackets: 1, TxPackets: 1, RxBytes: payload + 28, TxBytes: payload + 28}); d != want {
		t.Errorf("lo moved by %+v, want %+v", d, want)
	}
	out, err := exec.Command("ip", "netns", "exec", ns, "sh", "-c",
		"cd /sys/class/net/lo/statistics && cat rx_packets tx_packets rx_bytes tx_bytes").Output()
	if err != nil {
		t.Fatal(err)
	}
	var sys Counters
	if _, err := fmt.Sscan(string(out), &sys.RxPackets, &sys.TxPackets, &sys.RxBytes, &sys.TxBytes); err != nil {
		t.Fatalf("parse %q: %v", out, err)
	}
	if sys != after {
		t.Errorf("netlink says %+v, /sys says %+v", after, sys)
	}
	// The caller's namespace (""): the host's lo, which others may use
	// meanwhile, read between two reads of /sys.
	readSys := func() Counters {
		var c Counters
		for _, f := range []struct {
			name string
			dst  *uint64
		}{{"rx_packets", &c.RxPackets}, {"tx_packets", &c.TxPackets}, {"rx_bytes", &c.RxBytes}, {"tx_bytes", &c.TxBytes}} {
			b, err := os.ReadFile("/sys/class/net/lo/statistics/" + f.name)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := fmt.Sscan(string(b), f.dst); err != nil {
				t.Fatal(err)
			}
		}
		return c
	}
	lo0 := readSys()
	host, err := ReadCounters("", "lo")
	if err != nil {
		t.Fatal(err)
	}
	lo1 := readSys()
	if host.TxBytes < lo0.TxBytes || host.TxBytes > lo1.TxBytes || host.RxPackets < lo0.RxPackets || host.RxPackets > lo1.RxPackets {
		t.Errorf("host lo: netlink says %+v, /sys %+v before and %+v after", host, lo0, lo1)
	}
	if _, err := ReadCounters(ns, "nosuchif0"); err == nil {
		t.Error("no error for a missing interface")
	}
}

func TestUniqueName(t *testing.T) {
	seen := map[string]bool{}
	for _, prefix := range []string{"", "ga", "ghtmux", "averyverylongprefix"} {
		for range 3 {
			n := UniqueName(prefix)
			if len(n) > 15 || seen[n] {
				t.Errorf("UniqueName(%q) = %q: too long or seen before", prefix, n)
			}
			seen[n] = true
			if want := prefix[:min(len(prefix), 4)]; !strings.HasPrefix(n, want) {
				t.Errorf("UniqueName(%q) = %q: does not start with %q", prefix, n, want)
			}
			if !strings.Contains(n, strconv.FormatInt(int64(os.Getpid()), 16)+"x") {
				t.Errorf("UniqueName(%q) = %q: no pid", prefix, n)
			}
		}
	}
}

// nsExists says whether /run/netns/ns is there.
func nsExists(t *testing.T, ns string) bool {
	t.Helper()
	_, err := os.Stat("/run/netns/" + ns)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	return err == nil
}

// TestCreateAndRemove: what CreatePair and CreateLoopback make is gone after
// Remove, and a second Remove is harmless.
func TestCreateAndRemove(t *testing.T) {
	Skip(t)
	p, err := CreatePair("ght")
	if err != nil {
		t.Fatal(err)
	}
	l, err := CreateLoopback("ghu")
	if err != nil {
		t.Fatal(errors.Join(err, p.Remove()))
	}
	for _, ns := range []string{p.NSA, p.NSB, l.NS} {
		if !nsExists(t, ns) {
			t.Errorf("%s missing after Create", ns)
		}
	}
	for range 2 {
		if err := errors.Join(p.Remove(), l.Remove()); err != nil {
			t.Fatal(err)
		}
		for _, ns := range []string{p.NSA, p.NSB, l.NS} {
			if nsExists(t, ns) {
				t.Errorf("%s still there after Remove", ns)
			}
		}
	}
}

// TestCreatePairFailsClean: a pair whose veth cannot be made (a space in
// an interface name) fails, and the namespaces made before are gone.
func TestCreatePairFailsClean(t *testing.T) {
	Skip(t)
	prefix := "g "
	if _, err := CreatePair(prefix); err == nil {
		t.Fatal("CreatePair with a space in the interface names did not fail")
	}
	ents, err := os.ReadDir("/run/netns")
	if err != nil {
		t.Fatal(err)
	}
	mine := prefix + "A" + strconv.FormatInt(int64(os.Getpid()), 16) + "x"
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), mine) || strings.HasPrefix(e.Name(), prefix+"B"+mine[len(prefix)+1:]) {
			t.Errorf("%s left behind by a failed CreatePair", e.Name())
		}
	}
}

const childEnv = "NETNSTEST_INTERRUPT_CHILD"

// TestInterruptRemoves: a test binary interrupted with SIGINT while a
// NewLoopback namespace exists removes it and still dies of the signal.
func TestInterruptRemoves(t *testing.T) {
	Skip(t)
	cmd := exec.Command(os.Args[0], "-test.run=^TestInterruptChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), childEnv+"=1")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	defer stdin.Close()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	names := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if ns, ok := strings.CutPrefix(sc.Text(), "namespace "); ok {
				names <- ns
			}
		}
		exited <- cmd.Wait()
	}()
	var ns string
	select {
	case ns = <-names:
	case <-time.After(20 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatal("the child printed no namespace within 20 s")
	}
	if !nsExists(t, ns) {
		t.Fatalf("the child's namespace %s is not there", ns)
	}
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGINT {
			t.Errorf("child ended with %v, want killed by SIGINT", err)
		}
	case <-time.After(20 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatal("the child did not end within 20 s of SIGINT")
	}
	if nsExists(t, ns) {
		_ = removeNS(ns)
		t.Errorf("namespace %s left behind by an interrupted test", ns)
	}
}

// TestInterruptChild is TestInterruptRemoves's child: it makes a namespace,
// says its name and waits (at most 30 s) to be interrupted.
func TestInterruptChild(t *testing.T) {
	if os.Getenv(childEnv) == "" {
		t.Skip("run by TestInterruptRemoves")
	}
	fmt.Println("namespace", NewLoopback(t, "ghi"))
	done := make(chan struct{})
	go func() { _, _ = bufio.NewReader(os.Stdin).ReadByte(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
	}
}
