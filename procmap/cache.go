package procmap

import "time"

// flowCache remembers the owner of flows after their sockets are gone (TCP
// TIME_WAIT sockets have no inode; short connections close before anyone
// looks). It is bounded: entries expire ttl after they were last stored,
// and beyond max entries the oldest are forgotten. Not safe for concurrent
// use (the Resolver's lock guards it).
type flowCache struct {
	ttl   time.Duration
	max   int
	m     map[Flow]cacheEntry
	order []Flow // insertion order, oldest at head; one slot per key
	head  int
}

type cacheEntry struct {
	owner Owner
	at    time.Time
}

func newFlowCache(ttl time.Duration, max int) flowCache {
	return flowCache{ttl: ttl, max: max, m: make(map[Flow]cacheEntry)}
}

func (c *flowCache) get(f Flow, now time.Time) (Owner, bool) {
	e, ok := c.m[f]
	if !ok || now.Sub(e.at) > c.ttl {
		return Owner{}, false
	}
	return e.owner, true
}

func (c *flowCache) put(f Flow, o Owner, now time.Time) {
	if _, ok := c.m[f]; !ok {
		c.order = append(c.order, f)
	}
	c.m[f] = cacheEntry{owner: o, at: now}
	c.prune(now)
}

// prune forgets the oldest entries while they are expired or while there
// are more than max. Entries are ordered by first insertion: a flow stored
// again keeps its place, so under pressure it may go before its ttl.
func (c *flowCache) prune(now time.Time) {
	for c.head < len(c.order) {
		k := c.order[c.head]
		e, ok := c.m[k]
		if ok && len(c.m) <= c.max && now.Sub(e.at) <= c.ttl {
			break
		}
		c.order[c.head] = Flow{}
		c.head++
		delete(c.m, k)
	}
	// Compact the queue when its dead head is the larger part.
	if c.head > 1024 && c.head*2 > len(c.order) {
		n := copy(c.order, c.order[c.head:])
		clear(c.order[n:])
		c.order = c.order[:n]
		c.head = 0
	}
}
