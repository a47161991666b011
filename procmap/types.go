package procmap

import (
	"errors"
	"net/netip"
)

// Flow identifies one socket's view of a flow seen on the wire: the local end
// is the side of this host's socket.
type Flow struct {
	// NetNS is the inode number of the network namespace the flow belongs
	// to (0 means the resolver's own namespace).
	NetNS uint64
	// Proto is the IP protocol number (6 TCP, 17 UDP, 1 ICMP, 58 ICMPv6, 255 raw).
	Proto uint8
	// Local and Remote are the two ends; IPv4 addresses are plain 4-byte
	// addresses (never IPv4-mapped IPv6).
	Local, Remote netip.AddrPort
}

// Process is one process, identified by its pid and its start time, so that a
// reused pid is a different Process.
type Process struct {
	// PID is the process id.
	PID int
	// StartTime is field 22 of /proc/PID/stat: clock ticks after boot.
	StartTime uint64
	// UID is the real user id of the process.
	UID uint32
	// Name is argv[0] as read from /proc/PID/cmdline, as nethogs names
	// processes; for a kernel thread or an empty cmdline, the comm name.
	Name string
	// Cmdline is the full command line, argv[0] included.
	Cmdline []string
}

// Owner is what is known about the owner of a flow.
type Owner struct {
	// Inode is the socket's inode number (0 if the socket is gone but its
	// owner was remembered).
	Inode uint64
	// UID is the socket's owner uid from the socket table.
	UID uint32
	// Process is the process holding the socket, nil if the socket was found
	// but no process could be seen holding it (no permission, or it exited).
	Process *Process
}

// ErrNotFound is returned when no socket matches a flow.
var ErrNotFound = errors.New("procmap: no socket matches the flow")

// PacketFlow identifies the frames that a packet socket (AF_PACKET) sent:
// the interface they left by and their EtherType.
type PacketFlow struct {
	// NetNS is the inode number of the network namespace of the interface
	// (0 means the resolver's own namespace).
	NetNS uint64
	// IfIndex is the index of the interface the frames were sent on.
	IfIndex int
	// EtherType is the frames' EtherType (0x0800 for IPv4, ...).
	EtherType uint16
}
