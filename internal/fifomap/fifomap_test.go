package fifomap

import (
	"testing"
	"time"
)

func TestMapExpiry(t *testing.T) {
	t0 := time.Now()
	c := New[int, int](10*time.Second, 100)
	for i := range 50 {
		c.Put(i, i*10, t0.Add(time.Duration(i)*time.Second/10)) // 5 s of puts
	}
	if v, ok := c.Get(7, t0.Add(5*time.Second)); !ok || v != 70 {
		t.Fatalf("get(7) = %d, %v", v, ok)
	}
	// Key 3 stored again later keeps its new time.
	c.Put(3, 33, t0.Add(9*time.Second))
	// At 10.5 s, keys stored before 0.5 s (0..4) expired, 3 did not.
	now := t0.Add(10*time.Second + 500*time.Millisecond)
	for _, k := range []int{0, 1, 2, 4} {
		if _, ok := c.Get(k, now); ok {
			t.Errorf("key %d not expired at 10.5 s", k)
		}
	}
	if v, ok := c.Get(3, now); !ok || v != 33 {
		t.Errorf("re-stored key 3 = %d, %v; want 33", v, ok)
	}
	// A put prunes the expired ones from the map itself.
	c.Put(1000, 1, now)
	if n := c.Len(); n != 50-5+1+1 { // 5..49, 3, 1000
		t.Errorf("len after prune = %d, want 47", n)
	}
	c.Delete(3)
	if _, ok := c.Get(3, now); ok {
		t.Errorf("deleted key found")
	}
}

func TestMapBound(t *testing.T) {
	t0 := time.Now()
	const max = 1000
	c := New[int, int](time.Hour, max)
	for i := range 10 * max {
		c.Put(i, i, t0)
	}
	if c.Len() != max {
		t.Fatalf("len = %d, want %d", c.Len(), max)
	}
	// The newest are kept, the oldest forgotten.
	if _, ok := c.Get(10*max-1, t0); !ok {
		t.Errorf("newest forgotten")
	}
	if _, ok := c.Get(9*max-1, t0); ok {
		t.Errorf("oldest kept")
	}
	// One key stored again and again: the queue of its stale slots is
	// compacted, not grown without bound.
	for i := range 100 * max {
		c.Put(-1, i, t0.Add(time.Duration(i)))
	}
	if q := len(c.q) - c.head; q > 2*max+1024+1 {
		t.Errorf("queue holds %d slots for %d entries", q, c.Len())
	}
	if v, ok := c.Get(-1, t0.Add(time.Duration(100*max))); !ok || v != 100*max-1 {
		t.Errorf("get(-1) = %d, %v", v, ok)
	}
}

// TestMapSameTime: a key stored again and again at one time (a coarse
// clock) holds one queue slot, not one per put.
func TestMapSameTime(t *testing.T) {
	t0 := time.Now()
	c := New[int, int](time.Hour, 100)
	for i := range 100000 {
		c.Put(i%3, i, t0)
	}
	if live, held := c.Queue(); c.Len() != 3 || live != 3 || held > 3 {
		t.Errorf("len %d, queue %d live of %d", c.Len(), live, held)
	}
	if v, ok := c.Get(1, t0); !ok || v != 99997 {
		t.Errorf("Get(1) = %d, %v; want the last value stored", v, ok)
	}
	// Beyond the bound at one time, the oldest go first still.
	for i := range 1000 {
		c.Put(1000+i, i, t0)
	}
	if _, ok := c.Get(0, t0); ok || c.Len() != 100 {
		t.Errorf("len %d, oldest kept: %v", c.Len(), ok)
	}
}
