package dnswatch

import (
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/gohogs/gohogs/internal/dnstest"
)

// TestTTL: a name lasts its record's TTL, at least MinTTL and at most
// MaxTTL.
func TestTTL(t *testing.T) {
	tw := newTestWatcher(Options{MinTTL: time.Minute, MaxTTL: time.Hour})
	short, long, mid := netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.0.0.2"), netip.MustParseAddr("10.0.0.3")
	tw.feedMsg(t, answerOf("short.test", aRecord("short.test", short, 5)))
	tw.feedMsg(t, answerOf("long.test", aRecord("long.test", long, 7*24*3600)))
	tw.feedMsg(t, answerOf("mid.test", aRecord("mid.test", mid, 120)))
	t0 := tw.now
	for _, c := range []struct {
		at   time.Duration
		want map[netip.Addr]string
	}{
		{59 * time.Second, map[netip.Addr]string{short: "short.test", mid: "mid.test", long: "long.test"}},
		{60 * time.Second, map[netip.Addr]string{short: "", mid: "mid.test"}},
		{119 * time.Second, map[netip.Addr]string{mid: "mid.test"}},
		{120 * time.Second, map[netip.Addr]string{mid: ""}},
		{time.Hour - time.Second, map[netip.Addr]string{long: "long.test"}},
		{time.Hour, map[netip.Addr]string{long: ""}},
	} {
		tw.now = t0.Add(c.at)
		t.Run(c.at.String(), func(t *testing.T) { tw.expect(t, c.want) })
	}
	// A new answer renews the name, and a newer one replaces it.
	tw.feedMsg(t, answerOf("mid.test", aRecord("mid.test", mid, 120)))
	tw.feedMsg(t, answerOf("other.test", aRecord("other.test", mid, 120)))
	tw.expect(t, map[netip.Addr]string{mid: "other.test"})
}

// TestConnKeepsName: a connection keeps the name it was given while it is
// asked about, after the record expired and whatever the address is
// named since; a new connection to the address gets the current name.
func TestConnKeepsName(t *testing.T) {
	tw := newTestWatcher(Options{MinTTL: time.Minute, ConnTTL: 5 * time.Minute})
	tw.feedMsg(t, answerOf("a.test", aRecord("a.test", edge4, 60)))
	c1 := netip.AddrPortFrom(edge4, 443)
	if n := tw.Name(6, client4, c1); n != "a.test" {
		t.Fatalf("Name = %q", n)
	}
	// Asked every 4 minutes for an hour: still a.test, though the record
	// expired and the address was named b.test meanwhile.
	for range 15 {
		tw.now = tw.now.Add(4 * time.Minute)
		if n := tw.Name(6, client4, c1); n != "a.test" {
			t.Fatalf("Name after the record expired = %q", n)
		}
	}
	tw.feedMsg(t, answerOf("b.test", aRecord("b.test", edge4, 60)))
	if n := tw.Name(6, client4, c1); n != "a.test" {
		t.Errorf("Name after another answer = %q", n)
	}
	other := netip.AddrPortFrom(client4.Addr(), 40001)
	if n := tw.Name(6, other, c1); n != "b.test" {
		t.Errorf("a new connection: %q, want b.test", n)
	}
	if n := tw.Name(17, client4, c1); n != "b.test" {
		t.Errorf("UDP on the same ends: %q, want b.test", n)
	}
	// Not asked about for ConnTTL, and the record expired: no name.
	tw.now = tw.now.Add(5*time.Minute + time.Second)
	if n := tw.Name(6, client4, c1); n != "" {
		t.Errorf("Name after ConnTTL unasked = %q", n)
	}
	// A connection to an address never named.
	if n := tw.Name(6, client4, netip.MustParseAddrPort("10.3.3.3:80")); n != "" {
		t.Errorf("unnamed: %q", n)
	}
}

// TestFlood: a flood of answers for distinct addresses keeps MaxNames of
// them, the newest; each put is O(1) (the flood is 200 times the bound).
func TestFlood(t *testing.T) {
	const bound = 1000
	tw := newTestWatcher(Options{MaxNames: bound})
	addr := func(i int) netip.Addr { return netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}) }
	start := time.Now()
	for i := range 200 * bound {
		tw.learn(client4.Addr(), fmt.Sprintf("n%d.test", i), []answer{{addr: addr(i), ttl: time.Hour}}, tw.now)
		if i%bound == 0 {
			if n := tw.names.len(); n > bound {
				t.Fatalf("%d names after %d answers, bound %d", n, i+1, bound)
			}
		}
	}
	if el := time.Since(start); el > 10*time.Second {
		t.Errorf("200000 answers took %v", el)
	}
	if n := tw.Stats().Names; n != bound {
		t.Errorf("%d names, want %d", n, bound)
	}
	last := 200*bound - 1
	tw.expect(t, map[netip.Addr]string{addr(last): fmt.Sprintf("n%d.test", last),
		addr(last - bound + 1): fmt.Sprintf("n%d.test", last-bound+1), addr(last - bound): "", addr(0): ""})
	if live, held := tw.names.addrs.Queue(); live > 2*bound+1024 || held > 3*bound+2048 {
		t.Errorf("queue %d live of %d", live, held)
	}
}

// TestNetNSOf: answers to clients in two namespaces name the same address
// apart, and each connection by the namespace of its local end.
func TestNetNSOf(t *testing.T) {
	a, b := netip.MustParseAddr("10.88.0.2"), netip.MustParseAddr("10.88.0.3")
	tw := newTestWatcher(Options{NetNSOf: func(x netip.Addr) uint64 {
		switch x {
		case a:
			return 1
		case b:
			return 2
		}
		return 0
	}})
	for _, c := range []struct {
		client netip.Addr
		name   string
	}{{a, "a.test"}, {b, "b.test"}} {
		m, err := dnstest.Bytes(answerOf(c.name, aRecord(c.name, edge4, 60)))
		if err != nil {
			t.Fatal(err)
		}
		tw.feed(udpFrame(t, server4, netip.AddrPortFrom(c.client, 5000), m))
	}
	remote := netip.AddrPortFrom(edge4, 443)
	if n := tw.Name(6, netip.AddrPortFrom(a, 1), remote); n != "a.test" {
		t.Errorf("from a: %q", n)
	}
	if n := tw.Name(6, netip.AddrPortFrom(b, 1), remote); n != "b.test" {
		t.Errorf("from b: %q", n)
	}
	if n := tw.Name(6, client4, remote); n != "" {
		t.Errorf("from a third namespace: %q", n)
	}
}
