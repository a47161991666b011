package capture

import (
	"context"
	"net/netip"
	"slices"
	"testing"

	"github.com/gohogs/gohogs/internal/netnstest"
)

// TestLocalAddrs watches the addresses of a namespace of our own: the
// initial set is loaded, and adding and removing addresses is followed.
func TestLocalAddrs(t *testing.T) {
	ns := netnstest.NewLoopback(t, "ghL")
	dummy := netnstest.UniqueName("ghd")
	ip := func(args ...string) { t.Helper(); ipCmd(t, append([]string{"-n", ns}, args...)...) }
	// A veth pair inside the namespace (the dummy driver may be missing).
	ip("link", "add", dummy, "type", "veth", "peer", "name", netnstest.UniqueName("ghp"))
	ip("addr", "add", "192.0.2.10/24", "dev", dummy)
	ip("addr", "add", "2001:db8:5::10/64", "dev", dummy, "nodad")
	ip("addr", "add", "192.0.2.11/24", "dev", dummy)
	ip("link", "set", dummy, "up")

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var l *LocalAddrs
	do(t, ns, func() (err error) {
		l, err = WatchLocalAddrs(ctx)
		return err
	})
	a := netip.MustParseAddr
	for _, x := range []string{"127.0.0.1", "::1", "192.0.2.10", "192.0.2.11", "2001:db8:5::10"} {
		if !l.Contains(a(x)) {
			t.Errorf("initial set lacks %s", x)
		}
	}
	if l.Contains(a("192.0.2.12")) || l.Contains(a("10.250.0.1")) {
		t.Error("initial set has an address that is not there")
	}
	if !l.Contains(a("::ffff:192.0.2.10")) {
		t.Error("IPv4-mapped form of a local address not matched")
	}
	// IPv4 first, then IPv6; each family in kernel order.
	got := l.Of(dummy)
	var v4 []netip.Addr
	for _, x := range got {
		if x.Is4() {
			v4 = append(v4, x)
		}
	}
	if len(got) < 3 || !got[0].Is4() || !got[1].Is4() || got[len(got)-1].Is4() || !slices.Equal(v4, []netip.Addr{a("192.0.2.10"), a("192.0.2.11")}) {
		t.Errorf("Of(%s) = %v, want 192.0.2.10 192.0.2.11 then IPv6", dummy, got)
	}
	if got := l.Of("lo"); !slices.Contains(got, a("127.0.0.1")) || !slices.Contains(got, a("::1")) {
		t.Errorf("Of(lo) = %v", got)
	}
	if l.Of("nonexistent0") != nil {
		t.Error("Of(nonexistent) not nil")
	}

	ip("addr", "add", "198.51.100.99/32", "dev", dummy)
	eventually(t, "added IPv4 address", func() bool { return l.Contains(a("198.51.100.99")) })
	ip("addr", "add", "2001:db8:6::1/128", "dev", dummy, "nodad")
	eventually(t, "added IPv6 address", func() bool { return l.Contains(a("2001:db8:6::1")) })
	if got := l.Of(dummy); !slices.Contains(got, a("198.51.100.99")) {
		t.Errorf("Of after add = %v", got)
	}
	ip("addr", "del", "192.0.2.10/24", "dev", dummy)
	eventually(t, "removed IPv4 address", func() bool { return !l.Contains(a("192.0.2.10")) })
	ip("link", "del", dummy)
	eventually(t, "addresses of a deleted link gone", func() bool { return !l.Contains(a("2001:db8:6::1")) && !l.Contains(a("198.51.100.99")) })
	if !l.Contains(a("127.0.0.1")) {
		t.Error("lost 127.0.0.1")
	}

	// Contains is on the per-packet path: no allocation.
	probe := []netip.Addr{a("127.0.0.1"), a("2001:db8::1"), a("::ffff:127.0.0.1")}
	if n := testing.AllocsPerRun(1000, func() {
		for _, x := range probe {
			_ = l.Contains(x)
		}
	}); n != 0 {
		t.Errorf("Contains allocates %v times", n)
	}
}

func BenchmarkLocalAddrsContains(b *testing.B) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	l, err := WatchLocalAddrs(ctx)
	if err != nil {
		b.Skip(err)
	}
	x := netip.MustParseAddr("2001:db8::77")
	b.ReportAllocs()
	for b.Loop() {
		_ = l.Contains(x)
	}
}
