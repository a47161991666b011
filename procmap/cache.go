package procmap

import (
	"net/netip"
	"time"
)

// flowCache remembers the owner of flows after their sockets are gone (TCP
// TIME_WAIT sockets have no inode; short connections close before anyone
// looks). It is bounded: entries expire ttl after they were last stored,
// and beyond max entries the oldest stored are forgotten first, in O(1)
// (a fifoMap). Keys are flat, pointer-free 48-byte records rather than
// Flows (80 bytes, with the addresses' zone handles): at its bound under a
// churn of short connections the cache is one of the Resolver's largest
// tables. Not safe for concurrent use (the Resolver's lock guards it).
type flowCache struct {
	*fifoMap[cacheKey, Owner]
}

// cacheKey is a Flow flattened. Addresses are compared as 16 bytes (IPv4
// mapped) with their family and validity in kind; an IPv6 zone is not kept.
type cacheKey struct {
	netns         uint64
	local, remote [16]byte
	lport, rport  uint16
	proto         uint8
	kind          uint8
}

const (
	keyLocalValid = 1 << iota
	keyLocal4
	keyRemoteValid
	keyRemote4
)

func flowKey(f Flow) cacheKey {
	k := cacheKey{netns: f.NetNS, proto: f.Proto,
		local: f.Local.Addr().As16(), remote: f.Remote.Addr().As16(),
		lport: f.Local.Port(), rport: f.Remote.Port()}
	k.kind = addrKind(f.Local.Addr()) | addrKind(f.Remote.Addr())<<2
	return k
}

func addrKind(a netip.Addr) uint8 {
	switch {
	case !a.IsValid():
		return 0
	case a.Is4():
		return keyLocalValid | keyLocal4
	default:
		return keyLocalValid
	}
}

func newFlowCache(ttl time.Duration, max int) flowCache {
	return flowCache{newFIFOMap[cacheKey, Owner](ttl, max)}
}

func (c flowCache) get(f Flow, now time.Time) (Owner, bool) {
	return c.fifoMap.get(flowKey(f), now)
}

// getAt is get, with the time the owner was stored.
func (c flowCache) getAt(f Flow, now time.Time) (Owner, time.Time, bool) {
	return c.fifoMap.getAt(flowKey(f), now)
}

func (c flowCache) put(f Flow, o Owner, now time.Time) {
	c.fifoMap.put(flowKey(f), o, now)
}
