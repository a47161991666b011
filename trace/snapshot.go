package trace

import (
	"net/netip"
	"strconv"
	"time"

	"github.com/gohogs/gohogs/capture"
	"github.com/gohogs/gohogs/procmap"
	"github.com/gohogs/gohogs/trace/nethogs"
)

// Conn is one flow of a row: a socket's view of a connection.
type Conn struct {
	// Proto is the IP protocol: capture.ProtoTCP, capture.ProtoUDP, or
	// with -C any other (for ICMP the ends' ports are echo identifiers or
	// 0, for protocols without ports 0). A packet socket's frames are not
	// listed.
	Proto capture.Proto
	// Local and Remote are the two ends, the local one being the socket's.
	Local, Remote netip.AddrPort
	// Sent and Recv are the bytes credited in this refresh.
	Sent, Recv uint64
	// RemoteName is the DNS name Remote was resolved from, as the host's
	// answers said (see RemoteNamer); "" when unknown.
	RemoteName string
}

// String returns the connection as nethogs names it,
// LOCALIP:LPORT-REMOTEIP:RPORT (nethogs.ConnName): the name of a socket
// row, and what the trace prints for an unknown connection.
func (c Conn) String() string { return nethogs.ConnName(c.Local, c.Remote) }

// Kind says what a row stands for.
type Kind uint8

// Row kinds.
const (
	// KindProcess is a process, identified by pid and start time.
	KindProcess Kind = iota
	// KindSocket is a socket whose owner process could not be seen (no
	// permission, or it exited before it was found): nethogs names such a row
	// after the connection, with pid 0.
	KindSocket
	// KindUnknownUDP holds UDP traffic of flows with no known owner (-C).
	KindUnknownUDP
	// KindUnknownTCP holds TCP traffic of flows with no known owner.
	KindUnknownTCP
	// KindUnknownICMP holds ICMP and ICMPv6 traffic of no known owner
	// (-C): what the kernel sends and answers itself (echo replies,
	// errors, neighbour discovery), and echoes of sockets gone.
	KindUnknownICMP
	// KindUnknownIP holds the traffic of the other IP protocols (raw
	// sockets, GRE, ESP, SCTP, ...) of no known owner (-C).
	KindUnknownIP
)

// String names the kind as gohogs's JSON output does: "process", "socket",
// "unknown_tcp", "unknown_udp", "unknown_icmp", "unknown_ip" ("kindN" for
// a number that is no kind).
func (k Kind) String() string {
	switch k {
	case KindProcess:
		return "process"
	case KindSocket:
		return "socket"
	case KindUnknownUDP:
		return "unknown_udp"
	case KindUnknownTCP:
		return "unknown_tcp"
	case KindUnknownICMP:
		return "unknown_icmp"
	case KindUnknownIP:
		return "unknown_ip"
	}
	return "kind" + strconv.Itoa(int(k))
}

// Unknown says whether k is one of the unknown rows (pid 0, traffic of no
// known owner).
func (k Kind) Unknown() bool { return k.unknownRank() != 0 }

// RowName is the name of an unknown row as the trace prints it, in
// nethogs's form: "unknown TCP", "unknown UDP", "unknown ICMP", "unknown
// IP"; "" for the other kinds.
func (k Kind) RowName() string {
	switch k {
	case KindUnknownTCP:
		return "unknown TCP"
	case KindUnknownUDP:
		return "unknown UDP"
	case KindUnknownICMP:
		return "unknown ICMP"
	case KindUnknownIP:
		return "unknown IP"
	}
	return ""
}

// unknownRank orders the unknown rows after the others: ICMP, IP, then
// UDP before TCP, as nethogs lists those two.
func (k Kind) unknownRank() int {
	switch k {
	case KindUnknownICMP:
		return 1
	case KindUnknownIP:
		return 2
	case KindUnknownUDP:
		return 3
	case KindUnknownTCP:
		return 4
	}
	return 0
}

// Row is one line of a refresh: a process (or a stand-in) and its traffic.
type Row struct {
	Kind Kind
	// Name is argv[0] of the process, as nethogs names it.
	Name string
	// Args is the rest of the command line, joined by spaces (for -l).
	Args string
	// Cmdline is the full command line.
	Cmdline []string
	// PID and StartTime identify the process (0 for other kinds).
	PID       int
	StartTime uint64
	// UID is the user id owning the process or socket.
	UID uint32
	// Cgroup, Unit and Container are the process's cgroup path, systemd
	// unit and container (procmap.Process); empty for the other kinds.
	// Container.Name is filled in at each refresh once the runtime said
	// it (see ContainerNamer).
	Cgroup    string
	Unit      string
	Container procmap.Container
	// Sent and Recv are the bytes (whole frames) counted since the
	// previous refresh.
	Sent, Recv uint64
	// TotalSent and TotalRecv are the bytes counted since the start.
	TotalSent, TotalRecv uint64
	// Conns are the row's flows seen in the last FlowTimeout (50 s), with
	// this refresh's bytes (process and socket rows only).
	Conns []Conn
}

// Snapshot is one refresh: the rows, and the interval they cover.
type Snapshot struct {
	// Time is when the refresh was taken.
	Time time.Time
	// Elapsed is the time since the previous refresh (or since the start),
	// on the monotonic clock. Rates are Sent/Recv divided by it.
	Elapsed time.Duration
	// Seq numbers the refreshes from 1.
	Seq int
	// Rows are the processes and the unknown rows, unsorted.
	Rows []Row
	// UnknownConns are the TCP flows of the unknown TCP row: those whose
	// owner is still being looked up or was not found, oldest first. Their
	// Sent and Recv are the bytes this refresh credited to that row.
	UnknownConns []Conn
	// Accounting says where this refresh's bytes went: to process rows,
	// or why not (its Held: bytes left for a later refresh).
	Accounting Accounting
}
