// Package fifomap is a bounded map whose entries expire a fixed time after
// they were last stored, the oldest forgotten first, in O(1) per store.
// procmap's caches (flows, connect events) and dnswatch's names keep
// their bounds with it.
package fifomap

import "time"

// Map is a map whose entries expire ttl after they were last stored,
// of which at most max are kept, the oldest forgotten first. Every Put
// queues the key with its time, so forgetting pops the queue's head: O(1)
// amortized per put, never a walk of the whole map (a map at its bound
// would otherwise be walked on every insertion). Times given to Put must
// not go backwards by much (they come from one clock, read in order);
// an entry stored with an earlier time than the ones before it is only
// forgotten late, never early. Not safe for concurrent use.
type Map[K comparable, V any] struct {
	ttl  time.Duration
	max  int
	base time.Time // times are kept as nanoseconds since base (8 bytes, not 24)
	m    map[K]entry[V]
	q    []slot[K] // puts in order, oldest at head
	head int
}

type entry[V any] struct {
	v  V
	at int64
}

// slot is one put: current while the map's entry for k has the same
// time, stale once k was stored again or deleted.
type slot[K comparable] struct {
	k  K
	at int64
}

// New returns an empty Map whose entries expire ttl after they were stored,
// of which at most max are kept.
func New[K comparable, V any](ttl time.Duration, max int) *Map[K, V] {
	return &Map[K, V]{ttl: ttl, max: max, base: time.Now(), m: make(map[K]entry[V])}
}

func (c *Map[K, V]) stamp(now time.Time) int64 { return int64(now.Sub(c.base)) }

// Get returns the value stored for k, unless it expired.
func (c *Map[K, V]) Get(k K, now time.Time) (V, bool) {
	v, _, ok := c.GetAt(k, now)
	return v, ok
}

// GetAt is Get, with the time the value was stored.
func (c *Map[K, V]) GetAt(k K, now time.Time) (V, time.Time, bool) {
	e, ok := c.m[k]
	if !ok || c.stamp(now)-e.at > int64(c.ttl) {
		var zero V
		return zero, time.Time{}, false
	}
	return e.v, c.base.Add(time.Duration(e.at)), true
}

// Put stores v for k at now, and forgets what expired or is beyond max.
func (c *Map[K, V]) Put(k K, v V, now time.Time) {
	at := c.stamp(now)
	if e, ok := c.m[k]; ok && e.at == at {
		// Stored at this very time before (a coarse clock, or one
		// reading for a batch): its queue slot stands for this put too.
		// Another slot would look as current as that one, and never be
		// popped or compacted away.
		c.m[k] = entry[V]{v: v, at: at}
		return
	}
	c.m[k] = entry[V]{v: v, at: at}
	c.q = append(c.q, slot[K]{k: k, at: at})
	c.prune(at)
}

// Delete forgets k (its queue slots become stale).
func (c *Map[K, V]) Delete(k K) { delete(c.m, k) }

// Len is the number of entries held, expired ones not yet forgotten
// included.
func (c *Map[K, V]) Len() int { return len(c.m) }

// Queue returns how many of the queue's slots are live (from its head on)
// and how many it holds: what Put keeps bounded, for tests.
func (c *Map[K, V]) Queue() (live, held int) { return len(c.q) - c.head, len(c.q) }

// prune pops the queue's head while it is stale, expired, or the map holds
// more than max entries; then compacts the queue if most of it is dead.
func (c *Map[K, V]) prune(now int64) {
	for c.head < len(c.q) {
		s := c.q[c.head]
		e, ok := c.m[s.k]
		current := ok && e.at == s.at
		if current && len(c.m) <= c.max && now-e.at <= int64(c.ttl) {
			break
		}
		if current {
			delete(c.m, s.k)
		}
		var zero slot[K]
		c.q[c.head] = zero
		c.head++
	}
	live := len(c.q) - c.head
	switch {
	case c.head == len(c.q):
		c.q, c.head = c.q[:0], 0
	case c.head >= 256 && c.head*4 >= live:
		// Copying the live part once a quarter of it was popped costs
		// four slot copies per put at most, and keeps the queue within
		// 1.25 times the live part (an append-grown queue may be twice
		// as long, much of a full map's memory).
		n := copy(c.q, c.q[c.head:])
		clear(c.q[n:])
		c.q, c.head = c.q[:n], 0
	case live > 2*c.max+1024:
		// Keys stored again and again (a sender's port) fill the queue
		// with stale slots behind a current head: keep the current ones.
		n := 0
		for _, s := range c.q[c.head:] {
			if e, ok := c.m[s.k]; ok && e.at == s.at {
				c.q[n] = s
				n++
			}
		}
		clear(c.q[n:])
		c.q, c.head = c.q[:n], 0
	}
}
