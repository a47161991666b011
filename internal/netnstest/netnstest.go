// Package netnstest creates throw-away network namespaces joined by a veth
// pair for tests that need real traffic between two hosts. Everything it
// creates has a name unique to the test run and is removed by t.Cleanup, even
// when the test fails. Tests using it must run as root.
package netnstest

import (
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

var counter atomic.Uint32

// Pair is two network namespaces, A and B, joined by a veth pair: IfA lives in
// A and IfB in B. A has AddrA4/AddrA6, B has AddrB4/AddrB6 (private ranges,
// reachable only inside the two namespaces). Loopback is up in both.
type Pair struct {
	NSA, NSB string
	IfA, IfB string
	AddrA4   netip.Addr
	AddrB4   netip.Addr
	AddrA6   netip.Addr
	AddrB6   netip.Addr
}

// Skip skips t unless it runs as root with the ip command available.
func Skip(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("needs the ip command (iproute2)")
	}
}

// UniqueName returns a name no other test run uses: prefix, the process id
// and a counter, cut to fit the 15-byte interface name limit.
func UniqueName(prefix string) string {
	n := fmt.Sprintf("%s%x%x", prefix, os.Getpid(), counter.Add(1))
	if len(n) > 15 {
		n = n[len(n)-15:]
	}
	return n
}

// NewPair creates the namespaces and the veth pair, brings them up with
// addresses, disables offloads so that what is captured is what is on the
// wire, and registers their removal with t.Cleanup.
func NewPair(t testing.TB) *Pair {
	t.Helper()
	Skip(t)
	id := UniqueName("")
	p := &Pair{
		NSA:    "ghA" + id,
		NSB:    "ghB" + id,
		IfA:    UniqueName("ga"),
		IfB:    UniqueName("gb"),
		AddrA4: netip.MustParseAddr("10.250.0.1"),
		AddrB4: netip.MustParseAddr("10.250.0.2"),
		AddrA6: netip.MustParseAddr("fd00:250::1"),
		AddrB6: netip.MustParseAddr("fd00:250::2"),
	}
	t.Cleanup(func() {
		_ = exec.Command("ip", "netns", "del", p.NSA).Run()
		_ = exec.Command("ip", "netns", "del", p.NSB).Run()
	})
	cmds := [][]string{
		{"ip", "netns", "add", p.NSA},
		{"ip", "netns", "add", p.NSB},
		{"ip", "link", "add", p.IfA, "netns", p.NSA, "type", "veth", "peer", "name", p.IfB, "netns", p.NSB},
		{"ip", "-n", p.NSA, "link", "set", "lo", "up"},
		{"ip", "-n", p.NSB, "link", "set", "lo", "up"},
		{"ip", "-n", p.NSA, "addr", "add", p.AddrA4.String() + "/24", "dev", p.IfA},
		{"ip", "-n", p.NSB, "addr", "add", p.AddrB4.String() + "/24", "dev", p.IfB},
		{"ip", "-n", p.NSA, "addr", "add", p.AddrA6.String() + "/64", "dev", p.IfA, "nodad"},
		{"ip", "-n", p.NSB, "addr", "add", p.AddrB6.String() + "/64", "dev", p.IfB, "nodad"},
		// No IPv6 link-local chatter (router solicitations, MLD) to blur byte counts.
		{"ip", "netns", "exec", p.NSA, "sysctl", "-qw", "net.ipv6.conf." + p.IfA + ".addr_gen_mode=1"},
		{"ip", "netns", "exec", p.NSB, "sysctl", "-qw", "net.ipv6.conf." + p.IfB + ".addr_gen_mode=1"},
		{"ip", "-n", p.NSA, "link", "set", p.IfA, "up"},
		{"ip", "-n", p.NSB, "link", "set", p.IfB, "up"},
	}
	for _, c := range cmds {
		if out, err := exec.Command(c[0], c[1:]...).CombinedOutput(); err != nil {
			t.Fatalf("%s: %v: %s", strings.Join(c, " "), err, out)
		}
	}
	// Offloads off, when ethtool is there: captured frames then match the wire.
	if _, err := exec.LookPath("ethtool"); err == nil {
		for _, x := range [][2]string{{p.NSA, p.IfA}, {p.NSB, p.IfB}} {
			_ = exec.Command("ip", "netns", "exec", x[0], "ethtool", "-K", x[1], "tso", "off", "gso", "off", "gro", "off").Run()
		}
	}
	// Wait (bounded) until both ends are up and no address is tentative.
	deadline := time.Now().Add(5 * time.Second)
	for _, x := range [][2]string{{p.NSA, p.IfA}, {p.NSB, p.IfB}} {
		for {
			out, err := exec.Command("ip", "-n", x[0], "addr", "show", "dev", x[1]).Output()
			s := string(out)
			if err == nil && strings.Contains(s, "LOWER_UP") && !strings.Contains(s, "tentative") {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("veth %s in %s not ready after 5s: %v %s", x[1], x[0], err, s)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	return p
}

// Do runs fn with the calling goroutine's OS thread inside the named network
// namespace. Sockets that fn opens stay in that namespace after Do returns,
// and can be used from any goroutine.
func Do(ns string, fn func() error) error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	orig, err := os.Open("/proc/thread-self/ns/net")
	if err != nil {
		return fmt.Errorf("open own netns: %w", err)
	}
	defer orig.Close()
	target, err := os.Open("/run/netns/" + ns)
	if err != nil {
		return fmt.Errorf("open netns %s: %w", ns, err)
	}
	defer target.Close()
	if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
		return fmt.Errorf("setns %s: %w", ns, err)
	}
	ferr := fn()
	if err := unix.Setns(int(orig.Fd()), unix.CLONE_NEWNET); err != nil {
		// The thread is in the wrong namespace: never hand it back to the runtime.
		panic(fmt.Sprintf("netnstest: cannot restore netns: %v", err))
	}
	return ferr
}

// Counters is a snapshot of an interface's kernel statistics.
type Counters struct {
	RxPackets, TxPackets, RxBytes, TxBytes uint64
}

// ReadCounters reads /sys/class/net/IF/statistics of interface ifname as seen
// from namespace ns ("" for the current one).
func ReadCounters(ns, ifname string) (Counters, error) {
	var c Counters
	read := func() error {
		for _, f := range []struct {
			name string
			dst  *uint64
		}{{"rx_packets", &c.RxPackets}, {"tx_packets", &c.TxPackets}, {"rx_bytes", &c.RxBytes}, {"tx_bytes", &c.TxBytes}} {
			// /sys shows the namespace of the process that mounted it, so read
			// through ip netns exec's view when a namespace is named.
			var out []byte
			var err error
			path := "/sys/class/net/" + ifname + "/statistics/" + f.name
			if ns == "" {
				out, err = os.ReadFile(path)
			} else {
				out, err = exec.Command("ip", "netns", "exec", ns, "cat", path).Output()
			}
			if err != nil {
				return fmt.Errorf("read %s in netns %q: %w", path, ns, err)
			}
			if _, err := fmt.Sscan(strings.TrimSpace(string(out)), f.dst); err != nil {
				return fmt.Errorf("parse %s: %w", path, err)
			}
		}
		return nil
	}
	return c, read()
}

// NewLoopback creates a network namespace with only lo, up, and registers
// its removal with t.Cleanup: traffic on its 127.0.0.1 and ::1 is the
// test's alone. prefix starts the name (see UniqueName).
func NewLoopback(t testing.TB, prefix string) string {
	t.Helper()
	Skip(t)
	ns := UniqueName(prefix)
	if out, err := exec.Command("ip", "netns", "add", ns).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add %s: %v: %s", ns, err, out)
	}
	t.Cleanup(func() { _ = exec.Command("ip", "netns", "del", ns).Run() })
	if out, err := exec.Command("ip", "-n", ns, "link", "set", "lo", "up").CombinedOutput(); err != nil {
		t.Fatalf("ip -n %s link set lo up: %v: %s", ns, err, out)
	}
	return ns
}
