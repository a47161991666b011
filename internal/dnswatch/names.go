package dnswatch

import (
	"net/netip"
	"sync"
	"time"

	"github.com/gohogs/gohogs/internal/fifomap"
)

// addrKey is an address as the clients of one network namespace resolved
// it.
type addrKey struct {
	netns uint64
	addr  netip.Addr
}

// named is an address's name and when it expires.
type named struct {
	name    string
	expires int64 // nanoseconds since names.base
}

// connKey is a connection whose remote end was named.
type connKey struct {
	netns         uint64
	proto         uint8
	local, remote netip.AddrPort
}

// names is the map of addresses to names, and of the connections named
// from it to their names. Safe for concurrent use.
type names struct {
	minTTL, maxTTL time.Duration
	base           time.Time

	mu    sync.Mutex
	addrs *fifomap.Map[addrKey, named]
	conns *fifomap.Map[connKey, string]
}

// newNames returns an empty map of at most max addresses (and as many
// connections) whose names last their TTL, at least minTTL and at most
// maxTTL; a connection's name lasts connTTL after it was last asked for.
func newNames(max int, minTTL, maxTTL, connTTL time.Duration) *names {
	return &names{minTTL: minTTL, maxTTL: maxTTL, base: time.Now(),
		addrs: fifomap.New[addrKey, named](maxTTL, max),
		conns: fifomap.New[connKey, string](connTTL, max)}
}

// addrOf is a as names are keyed: IPv4-mapped addresses as IPv4, without
// a zone.
func addrOf(a netip.Addr) netip.Addr { return a.Unmap().WithZone("") }

// learn maps addr to name in namespace netns for ttl (bounded by minTTL
// and maxTTL) from now.
func (n *names) learn(netns uint64, addr netip.Addr, name string, ttl time.Duration, now time.Time) {
	ttl = min(max(ttl, n.minTTL), n.maxTTL)
	e := named{name: name, expires: int64(now.Add(ttl).Sub(n.base))}
	n.mu.Lock()
	n.addrs.Put(addrKey{netns, addrOf(addr)}, e, now)
	n.mu.Unlock()
}

// lookup returns the name of addr in namespace netns, "" if none is
// current.
func (n *names) lookup(netns uint64, addr netip.Addr, now time.Time) string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.lookupLocked(addrKey{netns, addrOf(addr)}, now)
}

func (n *names) lookupLocked(k addrKey, now time.Time) string {
	e, ok := n.addrs.Get(k, now)
	if !ok || int64(now.Sub(n.base)) >= e.expires {
		return ""
	}
	return e.name
}

// conn returns the name of the connection's remote end: the one it was
// given when first asked about, if it was asked about in the last
// connTTL, else its address's current name, which it keeps from now on.
func (n *names) conn(netns uint64, proto uint8, local, remote netip.AddrPort, now time.Time) string {
	k := connKey{netns: netns, proto: proto, local: local, remote: remote}
	n.mu.Lock()
	defer n.mu.Unlock()
	name, ok := n.conns.Get(k, now)
	if !ok {
		if name = n.lookupLocked(addrKey{netns, addrOf(remote.Addr())}, now); name == "" {
			return ""
		}
	}
	n.conns.Put(k, name, now)
	return name
}

// len returns how many addresses are held (expired ones not yet
// forgotten included).
func (n *names) len() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.addrs.Len()
}
