package procmap

import (
	"time"

	"github.com/gohogs/gohogs/internal/fifomap"
)

// fifoMap is a fifomap.Map under the lower-case names procmap's caches
// call it by.
type fifoMap[K comparable, V any] struct{ m *fifomap.Map[K, V] }

func newFIFOMap[K comparable, V any](ttl time.Duration, max int) *fifoMap[K, V] {
	return &fifoMap[K, V]{fifomap.New[K, V](ttl, max)}
}

func (c *fifoMap[K, V]) get(k K, now time.Time) (V, bool) { return c.m.Get(k, now) }

func (c *fifoMap[K, V]) getAt(k K, now time.Time) (V, time.Time, bool) { return c.m.GetAt(k, now) }

func (c *fifoMap[K, V]) put(k K, v V, now time.Time) { c.m.Put(k, v, now) }

func (c *fifoMap[K, V]) delete(k K) { c.m.Delete(k) }

func (c *fifoMap[K, V]) len() int { return c.m.Len() }
