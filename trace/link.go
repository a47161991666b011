package trace

import (
	"fmt"

	"github.com/gohogs/gohogs/procmap"
	"github.com/gohogs/gohogs/trace/nethogs"
)

// PacketResolver is implemented by a Resolver that can also find the
// packet socket (AF_PACKET) that sent a frame: *procmap.Resolver does.
// With -C, the Accountant asks it about the frames that only a packet
// socket sends (see classify); with a Resolver that does not implement it
// they have no owner.
type PacketResolver interface {
	ResolvePacket(procmap.PacketFlow) (procmap.Owner, error)
}

// lookup asks the resolver for the owner of the flows keyed k. It is
// called from the workers, without a.mu.
func (a *Accountant) lookup(k flowKey) (procmap.Owner, error) {
	if !k.link {
		return a.cfg.Resolver.Resolve(procmap.Flow{
			NetNS: a.cfg.NetNS, Proto: uint8(k.proto), Local: k.local, Remote: k.remote, Forwarded: k.fwd,
		})
	}
	pr, ok := a.cfg.Resolver.(PacketResolver)
	if !ok {
		return procmap.Owner{}, fmt.Errorf("trace: no packet socket lookup: %w", procmap.ErrNotFound)
	}
	return pr.ResolvePacket(procmap.PacketFlow{NetNS: a.cfg.NetNS, IfIndex: int(k.ifindex), EtherType: k.ether})
}

// socketName names the row of a socket whose process is not seen: after
// the connection, as nethogs does, or for a packet socket after its
// EtherType and interface.
func socketName(k flowKey) string {
	if k.link {
		return fmt.Sprintf("packet socket 0x%04x if %d", k.ether, k.ifindex)
	}
	return nethogs.ConnName(k.local, k.remote)
}
