package nsaddrs

import (
	"errors"
	"net/netip"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/gohogs/gohogs/internal/netns"
	"github.com/gohogs/gohogs/internal/netnstest"
)

// newIn makes an Index whose own namespace is ns, closed at cleanup.
func newIn(t *testing.T, ns string, o Options) *Index {
	t.Helper()
	var x *Index
	if err := netnstest.Do(ns, func() (err error) {
		x, err = New(o)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := x.Close(); err != nil {
			t.Error(err)
		}
	})
	return x
}

func inode(t *testing.T, ns string) uint64 {
	t.Helper()
	ino, err := netns.Inode("/run/netns/" + ns)
	if err != nil {
		t.Fatal(err)
	}
	return ino
}

func run(t *testing.T, args ...string) {
	t.Helper()
	if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
		t.Fatalf("%s: %v: %s", strings.Join(args, " "), err, out)
	}
}

// waitFor polls cond (every 5 ms, at most 5 s): the index publishes a
// change asynchronously, after the kernel's notification.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 5 s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestLocate: from H, C's and R's addresses are placed in their namespaces
// (through the veth that leads there), H's own are not, and the addresses
// of a pair that H does not reach (the same 10.250.0.x as every test pair's)
// are in no namespace reached from H, although namespaces hold them: those
// are not even watched.
func TestLocate(t *testing.T) {
	netnstest.Skip(t)
	n := netnstest.NewNAT(t, netnstest.NATOptions{})
	p := netnstest.NewPair(t)
	x := newIn(t, n.NSH, Options{})
	for _, c := range []struct {
		addr netip.Addr
		ns   string
		via  string
	}{{n.C4, n.NSC, n.IfCont}, {n.C6, n.NSC, n.IfCont}, {n.UpR4, n.NSR, n.IfUp}, {n.UpR6, n.NSR, n.IfUp}} {
		loc, err := x.Locate(c.addr)
		if err != nil {
			t.Errorf("Locate(%v): %v", c.addr, err)
			continue
		}
		if loc.NetNS != inode(t, c.ns) || loc.Via != x.IfIndex(c.via) || loc.Via == 0 {
			t.Errorf("Locate(%v) = %+v, want namespace %d via %s (%d)", c.addr, loc, inode(t, c.ns), c.via, x.IfIndex(c.via))
		}
		if !x.Contains(c.addr) {
			t.Errorf("Contains(%v) = false", c.addr)
		}
	}
	// Only R and C are watched: the pair's namespaces (and any other on
	// the host) are only opened to ask their id, and left alone.
	if got := x.Stats().Namespaces; got != 2 {
		t.Errorf("%d namespaces watched, want 2 (R and C)", got)
	}
	for _, a := range []netip.Addr{n.UpH4, n.ContH6, p.AddrA4, p.AddrB6, netip.MustParseAddr("192.0.2.77")} {
		if x.Contains(a) {
			t.Errorf("Contains(%v) = true", a)
		}
		if loc, err := x.Locate(a); !errors.Is(err, ErrNotHosted) {
			t.Errorf("Locate(%v) = %+v, %v; want ErrNotHosted", a, loc, err)
		}
	}
}

// TestLocateBehindBridge: behind a bridge, the namespace of the veth
// enslaved to it holds C's address; a second namespace on the same bridge
// with the same address makes it ambiguous, never a guess.
func TestLocateBehindBridge(t *testing.T) {
	netnstest.Skip(t)
	n := netnstest.NewNAT(t, netnstest.NATOptions{Bridge: true})
	x := newIn(t, n.NSH, Options{})
	loc, err := x.Locate(n.C4)
	if err != nil || loc.NetNS != inode(t, n.NSC) || loc.Via != x.IfIndex(n.IfBr) {
		t.Fatalf("Locate(%v) = %+v, %v; want namespace %d via the bridge %d", n.C4, loc, err, inode(t, n.NSC), x.IfIndex(n.IfBr))
	}
	// A twin: another namespace on the bridge, with C's address.
	twin := netnstest.NewLoopback(t, "gnt")
	hIf, tIf := netnstest.UniqueName("gnx"), netnstest.UniqueName("gny")
	run(t, "ip", "link", "add", hIf, "netns", n.NSH, "type", "veth", "peer", "name", tIf, "netns", twin)
	run(t, "ip", "-n", n.NSH, "link", "set", hIf, "master", n.IfBr)
	run(t, "ip", "-n", twin, "addr", "add", n.C4.String()+"/24", "dev", tIf)
	run(t, "ip", "-n", n.NSH, "link", "set", hIf, "up")
	run(t, "ip", "-n", twin, "link", "set", tIf, "up")
	// The twin's namespace is found by the miss below, or by a rescan.
	waitFor(t, "the twin makes C's address ambiguous", func() bool {
		_, err := x.Locate(n.C4)
		return errors.Is(err, ErrAmbiguous)
	})
	if _, err := x.Locate(n.C6); err != nil {
		t.Errorf("Locate(%v), held by C alone: %v", n.C6, err)
	}
}

// TestFollowsChanges: an address added in C is contained without a
// rescan (the subscription), one removed is not any more, and a namespace
// that goes away is dropped.
func TestFollowsChanges(t *testing.T) {
	netnstest.Skip(t)
	n := netnstest.NewNAT(t, netnstest.NATOptions{})
	x := newIn(t, n.NSH, Options{Rescan: 100 * time.Millisecond})
	extra := netip.MustParseAddr("10.251.2.9")
	if x.Contains(extra) {
		t.Fatalf("Contains(%v) before it is added", extra)
	}
	run(t, "ip", "-n", n.NSC, "addr", "add", extra.String()+"/24", "dev", n.IfC)
	waitFor(t, "the added address", func() bool { return x.Contains(extra) })
	run(t, "ip", "-n", n.NSC, "addr", "del", extra.String()+"/24", "dev", n.IfC)
	waitFor(t, "the removed address", func() bool { return !x.Contains(extra) })
	before := x.Stats().Namespaces
	run(t, "ip", "netns", "del", n.NSC)
	waitFor(t, "C's namespace dropped", func() bool { return !x.Contains(n.C4) && x.Stats().Namespaces < before })
}

// TestNewNamespaceFoundByItsVeth: a namespace made after the index, with a
// veth into the own namespace, is contained as soon as its veth and its
// address are there, without a periodic rescan or a miss.
func TestNewNamespaceFoundByItsVeth(t *testing.T) {
	netnstest.Skip(t)
	n := netnstest.NewNAT(t, netnstest.NATOptions{})
	x := newIn(t, n.NSH, Options{Rescan: time.Hour, MissGap: time.Hour})
	late := netnstest.NewLoopback(t, "gnl")
	hIf, lIf := netnstest.UniqueName("gnv"), netnstest.UniqueName("gnw")
	addr := netip.MustParseAddr("10.251.3.2")
	run(t, "ip", "link", "add", hIf, "netns", n.NSH, "type", "veth", "peer", "name", lIf, "netns", late)
	run(t, "ip", "-n", late, "addr", "add", addr.String()+"/24", "dev", lIf)
	run(t, "ip", "-n", n.NSH, "addr", "add", "10.251.3.1/24", "dev", hIf)
	run(t, "ip", "-n", n.NSH, "link", "set", hIf, "up")
	run(t, "ip", "-n", late, "link", "set", lIf, "up")
	waitFor(t, "the late namespace's address", func() bool { return x.Contains(addr) })
	if loc, err := x.Locate(addr); err != nil || loc.NetNS != inode(t, late) {
		t.Errorf("Locate(%v) = %+v, %v; want namespace %d", addr, loc, err, inode(t, late))
	}
}

// BenchmarkRescan: one look for namespaces (every process's ns/net link,
// the named namespaces) and the republication, nothing new found.
func BenchmarkRescan(b *testing.B) {
	netnstest.Skip(b)
	x, err := New(Options{Rescan: time.Hour})
	if err != nil {
		b.Fatal(err)
	}
	defer x.Close()
	b.ReportMetric(float64(len(x.pids)), "procs")
	for b.Loop() {
		x.rescan()
	}
}

// BenchmarkContains: the packet path's question.
func BenchmarkContains(b *testing.B) {
	netnstest.Skip(b)
	x, err := New(Options{Rescan: time.Hour})
	if err != nil {
		b.Fatal(err)
	}
	defer x.Close()
	a := netip.MustParseAddr("10.88.0.2")
	for b.Loop() {
		x.Contains(a)
	}
}
