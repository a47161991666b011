package report

import (
	"encoding/binary"
	"unsafe"
)

// rawCache remembers the number (a process's or a group's) of the raw
// strings seen last, each in one of its slots chosen by a hash of the
// string's ends: a busy host's refresh repeats the same hundreds of names
// and thousands of addresses, and a slot compared is cheaper than a map
// looked up. A miss goes to the map, which has them all.
type rawCache struct {
	keys [rawCacheSlots]string
	a, b [rawCacheSlots]int64 // what else the key is made of (pid, uid)
	vals [rawCacheSlots]int32 // 1 + the number; 0 in a slot never filled
}

const rawCacheBits = 12
const rawCacheSlots = 1 << rawCacheBits

// slot returns the slot of raw with a and b.
func (c *rawCache) slot(raw []byte, a, b int64) int {
	x := uint64(len(raw)) ^ uint64(a)*0x9e3779b97f4a7c15 ^ uint64(b)<<32
	switch {
	case len(raw) >= 8:
		x ^= binary.LittleEndian.Uint64(raw) ^ binary.LittleEndian.Uint64(raw[len(raw)-8:])*0xc2b2ae3d27d4eb4f
	case len(raw) > 0:
		x ^= uint64(raw[0]) | uint64(raw[len(raw)-1])<<8 | uint64(raw[len(raw)/2])<<16
	}
	return int((x * 0xff51afd7ed558ccd) >> (64 - rawCacheBits))
}

// get returns the number remembered for raw, a and b in slot i (none in
// a nil cache).
func (c *rawCache) get(i int, raw []byte, a, b int64) (int32, bool) {
	if c != nil && c.vals[i] != 0 && c.a[i] == a && c.b[i] == b && c.keys[i] == unsafe.String(unsafe.SliceData(raw), len(raw)) {
		return c.vals[i] - 1, true
	}
	return 0, false
}

// put remembers v for raw (a string of its own: it is kept), a and b in
// slot i (nothing in a nil cache).
func (c *rawCache) put(i int, raw string, a, b int64, v int32) {
	if c == nil {
		return
	}
	c.keys[i], c.a[i], c.b[i], c.vals[i] = raw, a, b, v+1
}
