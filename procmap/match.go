package procmap

import (
	"net/netip"

	"github.com/gohogs/gohogs/internal/proctable"
)

// tcpListen is TCP_LISTEN (include/net/tcp_states.h), as in socket tables
// and sock_diag replies.
const tcpListen = 10

// addrCovers reports whether a socket bound to sock receives traffic for
// the local address a: the same address, or a wildcard of the same family,
// or the IPv6 wildcard "::" for an IPv4 address (a dual-stack socket; a
// /proc/net table does not say whether it is IPV6_V6ONLY).
func addrCovers(sock, a netip.Addr) bool {
	if sock == a {
		return true
	}
	if !sock.IsUnspecified() {
		return false
	}
	return sock.Is6() || a.Is4()
}

// boundScore ranks a socket bound to e.Local (and maybe connected to
// e.Remote) as the owner of the flow local-remote: 0 no match, 1 wildcard
// address, 2 the specific address, 3 connected to that very peer. port is
// the local port the socket must be bound to.
func boundScore(e *proctable.Socket, local, remote netip.AddrPort, port uint16, matchRemotePort bool) int {
	if e.Local.Port() != port || !addrCovers(e.Local.Addr(), local.Addr()) {
		return 0
	}
	if !e.Remote.Addr().IsUnspecified() || (matchRemotePort && e.Remote.Port() != 0) {
		// Connected: only to this peer.
		if e.Remote.Addr() != remote.Addr() || (matchRemotePort && e.Remote.Port() != remote.Port()) {
			return 0
		}
		return 3
	}
	if e.Local.Addr().IsUnspecified() {
		return 1
	}
	return 2
}

// matchTable picks the socket owning f among the rows of a socket table,
// with the same rules as the kernel's lookup (see the package doc). With
// listener set, only a TCP listener on f's local address and port matches.
func matchTable(ents []proctable.Socket, f Flow, listener bool) (proctable.Socket, bool) {
	best, bestScore := -1, 0
	consider := func(i, s int) {
		if s > bestScore {
			best, bestScore = i, s
		}
	}
	switch f.Proto {
	case 6:
		for i := range ents {
			e := &ents[i]
			if e.Raw {
				continue
			}
			if e.State == tcpListen {
				if e.Local.Port() == f.Local.Port() && addrCovers(e.Local.Addr(), f.Local.Addr()) {
					if e.Local.Addr().IsUnspecified() {
						consider(i, 1)
					} else {
						consider(i, 2)
					}
				}
				continue
			}
			if !listener && e.Local == f.Local && e.Remote == f.Remote {
				if e.Inode != 0 {
					consider(i, 4)
				} else {
					consider(i, 3)
				}
			}
		}
	case 17:
		for i := range ents {
			if !ents[i].Raw {
				consider(i, boundScore(&ents[i], f.Local, f.Remote, f.Local.Port(), true))
			}
		}
	case 1, 58:
		// Ping sockets: the local "port" is the ICMP echo identifier (0
		// for what is no echo: no ping socket has it).
		for i := range ents {
			if !ents[i].Raw && f.Local.Port() != 0 {
				if s := boundScore(&ents[i], f.Local, f.Remote, f.Local.Port(), false); s > 0 {
					consider(i, 6+s)
				}
			}
		}
		// Raw sockets of that protocol (the "port" is the protocol), then
		// IPPROTO_RAW ones, which send any.
		for i := range ents {
			if ents[i].Raw {
				if s := boundScore(&ents[i], f.Local, f.Remote, uint16(f.Proto), false); s > 0 {
					consider(i, 3+s)
				} else {
					consider(i, boundScore(&ents[i], f.Local, f.Remote, 255, false))
				}
			}
		}
	default:
		for i := range ents {
			if !ents[i].Raw {
				continue
			}
			if s := boundScore(&ents[i], f.Local, f.Remote, uint16(f.Proto), false); s > 0 {
				consider(i, s+3)
			} else {
				// IPPROTO_RAW (255) sockets send any protocol.
				consider(i, boundScore(&ents[i], f.Local, f.Remote, 255, false))
			}
		}
	}
	if best < 0 {
		return proctable.Socket{}, false
	}
	return ents[best], true
}
