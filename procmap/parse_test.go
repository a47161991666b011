package procmap

import (
	"bytes"
	"net/netip"
	"testing"
	"time"

	"github.com/gohogs/gohogs/internal/procfs"
)

// TestProcessName: a process is named as nethogs names it, by argv[0],
// which may hold '/' and spaces, or by comm when it has none.
func TestProcessName(t *testing.T) {
	for _, tc := range []struct {
		in, comm, name string
	}{
		{"/usr/sbin/sshd\x00-D\x00", "sshd", "/usr/sbin/sshd"},
		{"sshd: root@pts/0", "sshd", "sshd: root@pts/0"},
		{"postgres: writer process   \x00\x00\x00", "postgres", "postgres: writer process   "},
		{"", "kthreadd", "kthreadd"},
		{"\x00\x00", "kworker/0:1", "kworker/0:1"},
		{"\x00-x\x00", "odd", "odd"},
	} {
		if name := processName(procfs.ParseCmdline([]byte(tc.in)), tc.comm); name != tc.name {
			t.Errorf("processName(%q, %q) = %q; want %q", tc.in, tc.comm, name, tc.name)
		}
	}
	long := bytes.Repeat([]byte("a"), 10000)
	if name := processName(procfs.ParseCmdline(long), "c"); len(name) != procfs.MaxCmdline-1 {
		t.Errorf("long cmdline: name of %d bytes, want %d as nethogs", len(name), procfs.MaxCmdline-1)
	}
}

func TestFlowCache(t *testing.T) {
	c := newFlowCache(time.Minute, 3)
	t0 := time.Unix(1000, 0)
	f := func(i int) Flow {
		return Flow{Proto: 6, Local: netip.AddrPortFrom(netip.MustParseAddr("10.0.0.1"), uint16(i)), Remote: mp("10.0.0.2:80")}
	}
	for i := 1; i <= 3; i++ {
		c.put(f(i), Owner{Inode: uint64(i)}, t0.Add(time.Duration(i)*time.Second))
	}
	if o, ok := c.get(f(1), t0.Add(10*time.Second)); !ok || o.Inode != 1 {
		t.Fatalf("get 1: %+v %v", o, ok)
	}
	c.put(f(4), Owner{Inode: 4}, t0.Add(11*time.Second)) // evicts the oldest, 1
	if _, ok := c.get(f(1), t0.Add(11*time.Second)); ok {
		t.Fatal("1 not evicted beyond the bound")
	}
	if c.m.Len() != 3 {
		t.Fatalf("%d entries, want 3", c.m.Len())
	}
	if _, ok := c.get(f(2), t0.Add(63*time.Second)); ok {
		t.Fatal("2 not expired after its ttl")
	}
	if o, ok := c.get(f(4), t0.Add(70*time.Second)); !ok || o.Inode != 4 {
		t.Fatal("4 expired early")
	}
	// A put long after prunes every expired entry.
	c.put(f(5), Owner{Inode: 5}, t0.Add(10*time.Minute))
	if c.m.Len() != 1 {
		t.Fatalf("%d entries after expiry, want 1", c.m.Len())
	}
	// Bounded under a stream of distinct flows.
	for i := 0; i < 5000; i++ {
		c.put(f(i), Owner{}, t0.Add(11*time.Minute))
	}
	if live, held := c.m.Queue(); c.m.Len() != 3 || live != 3 || held > 2100 {
		t.Fatalf("map %d queue %d live %d", c.m.Len(), held, live)
	}
	// Keys are flat records: an endpoint (no remote), a remote [::]:0 and
	// an IPv4-mapped remote stay apart.
	c = newFlowCache(time.Minute, 10)
	l := netip.MustParseAddrPort("[fd00::1]:53")
	keys := []Flow{
		{Proto: 17, Local: l},
		{Proto: 17, Local: l, Remote: netip.MustParseAddrPort("[::]:0")},
		{Proto: 17, Local: l, Remote: netip.MustParseAddrPort("[::ffff:10.0.0.2]:7")},
		{Proto: 17, Local: l, Remote: netip.MustParseAddrPort("10.0.0.2:7")},
		{Proto: 17, Local: l, Remote: netip.MustParseAddrPort("10.0.0.2:7"), NetNS: 5},
		{Proto: 6, Local: l, Remote: netip.MustParseAddrPort("10.0.0.2:7")},
	}
	for i, k := range keys {
		c.put(k, Owner{Inode: uint64(i + 1)}, t0)
	}
	for i, k := range keys {
		if o, ok := c.get(k, t0); !ok || o.Inode != uint64(i+1) {
			t.Errorf("key %d (%+v): %+v %v", i, k, o, ok)
		}
	}
}
