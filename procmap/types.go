package procmap

import (
	"errors"
	"net/netip"

	"github.com/gohogs/gohogs/internal/cgroup"
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
	// Forwarded says that neither address belongs to the namespace NetNS:
	// the flow was captured there passing through (a bridge, a container's
	// veth, a routed interface). Local is then the end to find: in the
	// namespace of this host that holds its address (see the package
	// documentation, "Forwarded and NAT'd flows"). Only flows of the
	// resolver's own namespace are followed so.
	Forwarded bool
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
	// Cgroup is the process's cgroup path (cgroup v2's, or v1's
	// name=systemd hierarchy on a hybrid host), "" if unreadable.
	Cgroup string
	// Unit is the systemd unit the cgroup names (nginx.service,
	// user@1000.service, session-3.scope), "" if none.
	Unit string
	// Container is the container the process runs in; the zero Container
	// outside any.
	Container Container
}

// Runtime is a container runtime, as a cgroup path names it; its String
// is the name gohogs prints ("docker", "podman", "containerd", "cri-o",
// "cri"; "" for none).
type Runtime = cgroup.Runtime

// The runtimes recognised (see Container).
const (
	NoRuntime         = cgroup.NoRuntime
	RuntimeDocker     = cgroup.Docker
	RuntimePodman     = cgroup.Podman
	RuntimeContainerd = cgroup.Containerd
	RuntimeCRIO       = cgroup.CRIO
	// RuntimeCRI is a Kubernetes container in the cgroupfs layout, which
	// does not say which CRI runtime runs it.
	RuntimeCRI = cgroup.CRI
)

// ParseRuntime reads a runtime's name as Runtime.String writes it.
func ParseRuntime(s string) (Runtime, bool) { return cgroup.ParseRuntime(s) }

// Container is a container, as a process's cgroup names it.
type Container struct {
	// Runtime is the runtime that made its cgroup.
	Runtime Runtime
	// ID is the runtime's id of it (64 hex digits).
	ID string
	// Name is its name, as the runtime's API says it (Docker's and
	// podman's, with Options.ContainerNames), "" while unknown: the name
	// is asked in the background when the process is first read (see
	// Resolver.ContainerName).
	Name string
	// PodUID is the UID of its Kubernetes pod, "" outside one.
	PodUID string
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
	// NetNS is the network namespace the socket was found in when it is
	// not the flow's own (a forwarded or NAT'd flow), else 0.
	NetNS uint64
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
