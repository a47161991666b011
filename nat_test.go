package gohogs_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gohogs/gohogs"
	"github.com/gohogs/gohogs/capture"
	"github.com/gohogs/gohogs/internal/netnstest"
	"github.com/gohogs/gohogs/trace"
)

// The NAT tests run a Monitor in H, the host of a netnstest.NAT: a
// "container" C behind it, masqueraded on the uplink to R, with a published
// port. The container's end is a process of its own (this test binary
// re-executed in C); R's end is this process. Ground truth: the frame
// counters of the interfaces H captures on.

const natChildEnv = "GOHOGS_NAT_CHILD"

// natBytes is what each connection carries.
const natBytes = 3_000_000

// TestNATChild is the container's process: "upload ADDR N" connects to
// ADDR and sends N bytes; "serve PORT" listens on PORT, says "ready",
// reads one connection to its end and prints its length.
func TestNATChild(t *testing.T) {
	spec := os.Getenv(natChildEnv)
	if spec == "" {
		t.Skip("run by the NAT tests")
	}
	f := strings.Fields(spec)
	switch f[0] {
	case "upload":
		n, _ := strconv.Atoi(f[2])
		c, err := net.DialTimeout("tcp", f[1], 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(20 * time.Second))
		if _, err := c.Write(make([]byte, n)); err != nil {
			t.Fatal(err)
		}
		c.(*net.TCPConn).CloseWrite()
		io.Copy(io.Discard, c)
	case "serve":
		ln, err := net.Listen("tcp", ":"+f[1])
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		fmt.Println("ready")
		ln.(*net.TCPListener).SetDeadline(time.Now().Add(20 * time.Second))
		c, err := ln.Accept()
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(20 * time.Second))
		n, _ := io.Copy(io.Discard, c)
		c.Close()
		fmt.Println("read", n)
		// A server stays: its listener names it after the connection is
		// gone. It ends when the test closes stdin.
		done := make(chan struct{})
		go func() { io.Copy(io.Discard, os.Stdin); close(done) }()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
		}
	default:
		t.Fatalf("unknown child spec %q", spec)
	}
}

// natChild starts the container's process in namespace ns; for "serve" it
// returns once the child listens. done says how the child ended; a server
// sends the length of the connection it read on read, and ends when stop
// is called.
func natChild(t *testing.T, ns, spec string) (cmd *exec.Cmd, done <-chan error, read chan int64, stop func()) {
	t.Helper()
	cmd = exec.Command("ip", "netns", "exec", ns, os.Args[0], "-test.run=^TestNATChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), natChildEnv+"="+spec)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ready, readc := make(chan struct{}), make(chan int64, 1)
	donec := make(chan error, 1)
	var lines []string
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines = append(lines, sc.Text())
			if sc.Text() == "ready" {
				close(ready)
			}
			if v, ok := strings.CutPrefix(sc.Text(), "read "); ok {
				n, _ := strconv.ParseInt(v, 10, 64)
				readc <- n
			}
		}
		err := cmd.Wait()
		if err != nil {
			err = fmt.Errorf("child %q: %w: %q", spec, err, lines)
		}
		donec <- err
	}()
	t.Cleanup(func() { stdin.Close(); cmd.Process.Kill() })
	if strings.HasPrefix(spec, "serve") {
		select {
		case <-ready:
		case err := <-donec:
			t.Fatalf("child %q ended before listening: %v", spec, err)
		case <-time.After(10 * time.Second):
			t.Fatalf("child %q not listening within 10 s", spec)
		}
	}
	return cmd, donec, readc, func() { stdin.Close() }
}

// waitChild waits (at most 20 s) for a child to end well.
func waitChild(t *testing.T, done <-chan error) {
	t.Helper()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("child still running after 20 s")
	}
}

// sums adds up the interval bytes of every refresh: per pid (process
// rows), of the unknown rows, and of all rows.
func (c *collector) sums() (byPID map[int][2]uint64, unknown, all uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	byPID = map[int][2]uint64{}
	for _, s := range c.snaps {
		for _, r := range s.Rows {
			all += r.Sent + r.Recv
			switch r.Kind {
			case trace.KindProcess:
				v := byPID[r.PID]
				byPID[r.PID] = [2]uint64{v[0] + r.Sent, v[1] + r.Recv}
			case trace.KindUnknownTCP, trace.KindUnknownUDP:
				unknown += r.Sent + r.Recv
			}
		}
	}
	return byPID, unknown, all
}

// waitTotal waits (at most 15 s) until the rows hold at least want bytes,
// then for two more refreshes, so that nothing is still held back.
func (c *collector) waitTotal(t *testing.T, want uint64) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		if _, _, all := c.sums(); all >= want {
			break
		}
		if time.Now().After(deadline) {
			_, _, all := c.sums()
			t.Errorf("the rows hold %d bytes after 15 s, want at least %d", all, want)
			break
		}
		c.waitPast(t, time.Now(), 5*time.Second)
	}
	c.waitPast(t, time.Now(), 5*time.Second)
	c.waitPast(t, time.Now(), 5*time.Second)
}

// frames is the bytes (both directions) that interfaces carried between
// two readings of their counters.
func frames(t *testing.T, ns string, ifs []string, read func(string) netnstest.Counters) func() uint64 {
	before := map[string]netnstest.Counters{}
	for _, i := range ifs {
		before[i] = read(i)
	}
	return func() uint64 {
		var n uint64
		for _, i := range ifs {
			d := read(i).Sub(before[i])
			n += d.TxBytes + d.RxBytes
		}
		return n
	}
}

// natMonitor opens a Monitor in H with opts (refreshes every 250 ms),
// collects its refreshes until ctx ends and waits for the first; read gives
// the counters of an interface of H.
func natMonitor(t *testing.T, ctx context.Context, n *netnstest.NAT, opts gohogs.Options) (*gohogs.Monitor, *collector, func(string) netnstest.Counters) {
	t.Helper()
	opts.Interval = 250 * time.Millisecond
	m := openIn(t, ctx, n.NSH, opts)
	for _, d := range m.Devices() {
		t.Logf("%s: backend %v (fallback: %v)", d.Name, d.Backend, d.Fallback)
	}
	c := collect(ctx, m)
	c.waitPast(t, time.Time{}, 5*time.Second)
	read := func(ifc string) netnstest.Counters {
		x, err := netnstest.ReadCounters(n.NSH, ifc)
		if err != nil {
			t.Fatal(err)
		}
		return x
	}
	return m, c, read
}

// natSlack bounds the frames an interface counts that are no TCP (ARP,
// neighbour discovery) in one connection's time.
const natSlack = 1200

// TestContainerBehindNAT: a Monitor in H credits the container's process
// with its bytes, whether it watches the uplink (every packet masqueraded
// or DNAT'd: conntrack gives the container's tuple), the container's veth
// (every packet forwarded: the address index finds the container), or both
// (each byte once: the uplink's copy counts, so the rows' total is the
// uplink's frames). Over IPv4 and IPv6, out (C uploads to R through the
// masquerade) and in (R uploads to H's published port, DNAT'd to C). R's
// end, this process, is beyond the NAT: never credited. With the default
// backend (eBPF where it loads: counts taken out of the kernel) and with
// afpacket (every packet), or the one GOHOGS_TEST_BACKEND names.
func TestContainerBehindNAT(t *testing.T) {
	netnstest.Skip(t)
	n := netnstest.NewNAT(t, netnstest.NATOptions{})
	natEach(t, n, natRun)
}

// natEach runs run as a subtest for each backend (the default and
// afpacket, or the one GOHOGS_TEST_BACKEND names), each family and each
// set of watched interfaces: the uplink, the container's veth, both; truth
// is the interfaces whose frames the rows must add up to.
func natEach(t *testing.T, n *netnstest.NAT, run func(t *testing.T, n *netnstest.NAT, b capture.Backend, fam int, ifs, truth []string)) {
	backends := []capture.Backend{capture.BackendDefault, capture.BackendAFPacket}
	if b := testBackend(t); b != capture.BackendDefault {
		backends = []capture.Backend{b}
	}
	for _, b := range backends {
		for _, fam := range []int{4, 6} {
			for _, w := range []struct {
				name       string
				ifs, truth []string
			}{
				{"uplink", []string{n.IfUp}, []string{n.IfUp}},
				{"veth", []string{n.IfCont}, []string{n.IfCont}},
				{"both", []string{n.IfUp, n.IfCont}, []string{n.IfUp}},
			} {
				t.Run(fmt.Sprintf("%v/IPv%d/%s", b, fam, w.name), func(t *testing.T) {
					run(t, n, b, fam, w.ifs, w.truth)
				})
			}
		}
	}
}

func natRun(t *testing.T, n *netnstest.NAT, b capture.Backend, fam int, ifs, truth []string) {
	upH, upR := n.UpH4, n.UpR4
	if fam == 6 {
		upH, upR = n.UpH6, n.UpR6
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	m, c, read := natMonitor(t, ctx, n, gohogs.Options{Interfaces: ifs, Backend: b})
	check := func(what string, pid int, wire uint64, out bool) {
		t.Helper()
		byPID, unknown, all := c.sums()
		got := byPID[pid]
		t.Logf("%s: child %d sent %d recv %d; unknown %d; all rows %d; frames on %v %d; self %v; stats %+v",
			what, pid, got[0], got[1], unknown, all, truth, wire, byPID[os.Getpid()], m.Stats().Accounting)
		payload := got[1]
		if out {
			payload = got[0]
		}
		// Frames add 4.5-6 % to the payload; a burst through the forwarding
		// namespace may be retransmitted in part. Twice it would be a
		// double count.
		if payload < natBytes || payload > natBytes*130/100 {
			t.Errorf("%s: the container's process has %d bytes of its %d-byte %s, want within [1, 1.30] of it",
				what, payload, natBytes, map[bool]string{true: "upload", false: "download"}[out])
		}
		if all > wire || all+natSlack < wire {
			t.Errorf("%s: the rows hold %d bytes, the interfaces %v carried %d frame bytes (want equal, %d of them may be no TCP)",
				what, all, truth, wire, natSlack)
		}
		if got[0]+got[1] != all {
			t.Errorf("%s: %d of the rows' %d bytes are not the container's process's (unknown %d, this process %v)",
				what, all-got[0]-got[1], all, unknown, byPID[os.Getpid()])
		}
		c.mu.Lock()
		c.snaps = nil // the next connection starts from nothing
		c.mu.Unlock()
	}

	// Out: C uploads to R, masqueraded on the uplink.
	addr, got := tcpSink(t, n.NSR, upR.String())
	wire := frames(t, n.NSH, truth, read)
	cmd, done, _, _ := natChild(t, n.NSC, "upload "+addr+" "+strconv.Itoa(natBytes))
	select {
	case k := <-got:
		if k != natBytes {
			t.Fatalf("R received %d bytes, want %d", k, natBytes)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("R received nothing within 20 s")
	}
	waitChild(t, done)
	w := wire()
	c.waitTotal(t, w-natSlack)
	check("out", cmd.Process.Pid, wire(), true)

	// In: R uploads to H's published port, DNAT'd to C.
	wire = frames(t, n.NSH, truth, read)
	cmd, done, served, stop := natChild(t, n.NSC, "serve "+strconv.Itoa(int(n.Container)))
	send(t, n.NSR, netip.AddrPortFrom(upH, n.Published).String(), natBytes, 1<<40, served)
	w = wire()
	c.waitTotal(t, w-natSlack)
	check("in", cmd.Process.Pid, wire(), false)
	stop()
	waitChild(t, done)
}

// TestContainerPingBehindNAT: with -C, the echoes that ping in the
// container sends to R through the masquerade (the kernel may rewrite
// their identifier as it rewrites a port: conntrack gives the container's
// end) are credited to ping once, watched on the uplink, the container's
// veth or both, over IPv4 and IPv6; the rows add up to the frames of the
// uplink (or the veth when it alone is watched).
func TestContainerPingBehindNAT(t *testing.T) {
	netnstest.Skip(t)
	if _, err := exec.LookPath("ping"); err != nil {
		t.Skipf("ping not installed (.ci/run installs it): %v", err)
	}
	n := netnstest.NewNAT(t, netnstest.NATOptions{})
	natEach(t, n, natPing)
}

func natPing(t *testing.T, n *netnstest.NAT, b capture.Backend, fam int, ifs, truth []string) {
	dst, hdr := n.UpR4, 20
	if fam == 6 {
		dst, hdr = n.UpR6, 40
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	m, c, read := natMonitor(t, ctx, n, gohogs.Options{Interfaces: ifs, Backend: b, UDP: true})
	wire := frames(t, n.NSH, truth, read)
	const pings, size = 40, 1000
	ping := exec.Command("ip", "netns", "exec", n.NSC, "ping", "-q", "-c", strconv.Itoa(pings), "-i", "0.01", "-W", "5",
		"-s", strconv.Itoa(size), dst.String())
	if out, err := ping.CombinedOutput(); err != nil {
		t.Fatalf("ping: %v %s", err, out)
	}
	w := wire()
	c.waitTotal(t, w-natSlack)
	byPID, _, all := c.sums()
	got := byPID[ping.Process.Pid]
	frame := uint64(14 + hdr + 8 + size)
	t.Logf("ping %d: sent %d recv %d (want %d each); all rows %d; frames on %v %d; stats %+v",
		ping.Process.Pid, got[0], got[1], pings*frame, all, truth, wire(), m.Stats().Accounting)
	if got[0] != pings*frame || got[1] != pings*frame {
		t.Errorf("ping's bytes: sent %d, received %d; want %d each way (once)", got[0], got[1], pings*frame)
	}
	if w := wire(); all > w || all+natSlack < w {
		t.Errorf("the rows hold %d bytes, the interfaces %v carried %d frame bytes (want equal, %d of them may be no ICMP)",
			all, truth, w, natSlack)
	}
}
