package procmap

import (
	"testing"
	"time"
)

func TestFIFOMapExpiry(t *testing.T) {
	t0 := time.Now()
	c := newFIFOMap[int, int](10*time.Second, 100)
	for i := range 50 {
		c.put(i, i*10, t0.Add(time.Duration(i)*time.Second/10)) // 5 s of puts
	}
	if v, ok := c.get(7, t0.Add(5*time.Second)); !ok || v != 70 {
		t.Fatalf("get(7) = %d, %v", v, ok)
	}
	// Key 3 stored again later keeps its new time.
	c.put(3, 33, t0.Add(9*time.Second))
	// At 10.5 s, keys stored before 0.5 s (0..4) expired, 3 did not.
	now := t0.Add(10*time.Second + 500*time.Millisecond)
	for _, k := range []int{0, 1, 2, 4} {
		if _, ok := c.get(k, now); ok {
			t.Errorf("key %d not expired at 10.5 s", k)
		}
	}
	if v, ok := c.get(3, now); !ok || v != 33 {
		t.Errorf("re-stored key 3 = %d, %v; want 33", v, ok)
	}
	// A put prunes the expired ones from the map itself.
	c.put(1000, 1, now)
	if n := c.len(); n != 50-5+1+1 { // 5..49, 3, 1000
		t.Errorf("len after prune = %d, want 47", n)
	}
	c.delete(3)
	if _, ok := c.get(3, now); ok {
		t.Errorf("deleted key found")
	}
}

func TestFIFOMapBound(t *testing.T) {
	t0 := time.Now()
	const max = 1000
	c := newFIFOMap[int, int](time.Hour, max)
	for i := range 10 * max {
		c.put(i, i, t0)
	}
	if c.len() != max {
		t.Fatalf("len = %d, want %d", c.len(), max)
	}
	// The newest are kept, the oldest forgotten.
	if _, ok := c.get(10*max-1, t0); !ok {
		t.Errorf("newest forgotten")
	}
	if _, ok := c.get(9*max-1, t0); ok {
		t.Errorf("oldest kept")
	}
	// One key stored again and again: the queue of its stale slots is
	// compacted, not grown without bound.
	for i := range 100 * max {
		c.put(-1, i, t0.Add(time.Duration(i)))
	}
	if q := len(c.q) - c.head; q > 2*max+1024+1 {
		t.Errorf("queue holds %d slots for %d entries", q, c.len())
	}
	if v, ok := c.get(-1, t0.Add(time.Duration(100*max))); !ok || v != 100*max-1 {
		t.Errorf("get(-1) = %d, %v", v, ok)
	}
}

// BenchmarkFIFOMapFull is a put into a map at its bound, which forgets the
// oldest entry: constant time (a walk of the map per put, as before, cost
// ~100 µs at 65536 entries).
func BenchmarkFIFOMapFull(b *testing.B) {
	t0 := time.Now()
	c := newFIFOMap[connKey, connInfo](time.Hour, connMax)
	k := connKey{}
	for i := range connMax {
		k.lport, k.rport = uint16(i), uint16(i>>16)
		c.put(k, connInfo{}, t0)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		k.lport, k.rport = uint16(i), uint16(i>>16)+1
		c.put(k, connInfo{}, t0)
	}
}
