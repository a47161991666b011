package procmap

import "time"

// fifoMap is a map whose entries expire ttl after they were last stored,
// of which at most max are kept, the oldest forgotten first. Every put
// queues the key with its time, so forgetting pops the queue's head: O(1)
// amortized per put, never a walk of the whole map (a map at its bound
// would otherwise be walked on every insertion). Times given to put must
// not go backwards by much (they come from one clock, read in order);
// an entry stored with an earlier time than the ones before it is only
// forgotten late, never early. Not safe for concurrent use.
type fifoMap[K comparable, V any] struct {
	ttl  time.Duration
	max  int
	base time.Time // times are kept as nanoseconds since base (8 bytes, not 24)
	m    map[K]fifoEntry[V]
	q    []fifoSlot[K] // puts in order, oldest at head
	head int
}

type fifoEntry[V any] struct {
	v  V
	at int64
}

// fifoSlot is one put: current while the map's entry for k has the same
// time, stale once k was stored again or deleted.
type fifoSlot[K comparable] struct {
	k  K
	at int64
}

func newFIFOMap[K comparable, V any](ttl time.Duration, max int) *fifoMap[K, V] {
	return &fifoMap[K, V]{ttl: ttl, max: max, base: time.Now(), m: make(map[K]fifoEntry[V])}
}

func (c *fifoMap[K, V]) stamp(now time.Time) int64 { return int64(now.Sub(c.base)) }

// get returns the value stored for k, unless it expired.
func (c *fifoMap[K, V]) get(k K, now time.Time) (V, bool) {
	v, _, ok := c.getAt(k, now)
	return v, ok
}

// getAt is get, with the time the value was stored.
func (c *fifoMap[K, V]) getAt(k K, now time.Time) (V, time.Time, bool) {
	e, ok := c.m[k]
	if !ok || c.stamp(now)-e.at > int64(c.ttl) {
		var zero V
		return zero, time.Time{}, false
	}
	return e.v, c.base.Add(time.Duration(e.at)), true
}

// put stores v for k at now, and forgets what expired or is beyond max.
func (c *fifoMap[K, V]) put(k K, v V, now time.Time) {
	at := c.stamp(now)
	c.m[k] = fifoEntry[V]{v: v, at: at}
	c.q = append(c.q, fifoSlot[K]{k: k, at: at})
	c.prune(at)
}

// delete forgets k (its queue slots become stale).
func (c *fifoMap[K, V]) delete(k K) { delete(c.m, k) }

func (c *fifoMap[K, V]) len() int { return len(c.m) }

// prune pops the queue's head while it is stale, expired, or the map holds
// more than max entries; then compacts the queue if most of it is dead.
func (c *fifoMap[K, V]) prune(now int64) {
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
		var zero fifoSlot[K]
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
