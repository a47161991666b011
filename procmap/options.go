package procmap

import "time"

// Defaults for Options.
const (
	DefaultFullScanInterval = 100 * time.Millisecond
	DefaultFlowCacheTTL     = 2 * time.Minute
	DefaultFlowCacheSize    = 4096
)

// Options configures a Resolver.
type Options struct {
	// ProcRoot is the proc file system to read; default "/proc". Tests
	// point it at fixture trees in testdata/; a container given the
	// host's /proc mounts it elsewhere (/host/proc). The kernel's event
	// sources run only with a proc file system of the initial pid
	// namespace (Stats.ConnEventsErr).
	ProcRoot string
	// NoNetlink disables sock_diag: socket tables are read from
	// /proc/net/* only (fixtures use this).
	NoNetlink bool
	// NetNSDir holds named network namespaces (ip netns); default
	// "/run/netns". Flows of a namespace that no process lives in are
	// resolved through it.
	NetNSDir string
	// FullScanInterval is the least time between two full scans of every
	// process's fds; default DefaultFullScanInterval. Negative: no limit.
	FullScanInterval time.Duration
	// FlowCacheTTL is how long the owner of a flow is remembered after it
	// was last seen live; default DefaultFlowCacheTTL (longer than the 60 s
	// of TCP TIME_WAIT).
	FlowCacheTTL time.Duration
	// NoProcEvents disables the netlink process connector (fork/exec
	// events, root only), used when ProcRoot is "/proc" to scan new
	// processes first and to re-read the identity of exec'd ones.
	NoProcEvents bool
	// NoConnEvents disables the TCP connect and UDP send tracepoints
	// (a tracefs instance; needs root). They name the process of a
	// connection that closed, or a UDP sender that exited, before it could
	// be looked up. When they cannot run, Stats.ConnEventsErr says why.
	NoConnEvents bool
	// FlowCacheSize bounds the number of remembered flows; default
	// DefaultFlowCacheSize. The oldest are forgotten first. An entry
	// serves a flow looked up again after its socket is gone, which a
	// monitor does when it forgot the flow (gohogs forgets a closed one
	// seconds after its last packet), so a few seconds of flows at the
	// highest rate expected are enough; more costs memory for nothing.
	FlowCacheSize int
	// ContainerNames asks Docker's and podman's API, on their unix sockets
	// when they are there, for the names of the containers processes run
	// in (Process.Container.Name), in the background. Connecting may
	// start a socket-activated podman service.
	ContainerNames bool
	// ContainerSockets are the API sockets asked, for containers of both
	// runtimes; nil asks /run/docker.sock, /var/run/docker.sock,
	// /run/podman/podman.sock, $XDG_RUNTIME_DIR/podman/podman.sock and a
	// rootless container's owner's /run/user/UID sockets.
	ContainerSockets []string
	// NoForwarding leaves forwarded and NAT'd flows alone: no index of the
	// host's network namespaces, no conntrack queries (see the package
	// documentation, "Forwarded and NAT'd flows").
	NoForwarding bool
	// Captured names the interfaces of the resolver's namespace that the
	// caller captures on. A forwarded flow that the namespace NATs onto
	// one of them is answered with an *EndError of reason EndCountedThere
	// without being looked up: its translated copy is counted there.
	// gohogs.Open sets it to the Monitor's interfaces.
	Captured []string

	// The Resolver changes nothing on the host unless the caller allows it
	// here; the gohogs command allows all three.

	// MountTracefs mounts tracefs on /sys/kernel/tracing when the calling
	// process sees no tracefs mounted anywhere (the Resolver looks for it
	// in /proc/self/mountinfo, at any mount point, and in a debugfs's
	// tracing directory). The connect events need it. The mount stays
	// after Close.
	MountTracefs bool
	// RaisePriority runs the process connector's reader thread, and it
	// alone, at nice -10 (with CAP_SYS_NICE; without, it keeps its
	// priority), so that an exec'd process is read before it exits while
	// new processes keep every CPU busy. The thread gets its priority back
	// when Close stops the reader.
	RaisePriority bool
	// RemoveStaleInstances removes, as the Resolver starts, the tracefs
	// instances "gohogs-PIDNS-TIMENS-PID-START-N" whose maker is provably
	// gone: a process of the Resolver's pid namespace whose pid is no
	// process any more, or, made in the Resolver's time namespace too, is
	// a process started at another time than START (the pid was reused).
	// Instances of another pid namespace, of a maker that cannot be
	// checked, and every other name (the "gohogs-PID-N" of earlier
	// versions included) are kept. Without it the Resolver removes no
	// instance but its own, at Close.
	RemoveStaleInstances bool
}

// Stats are counters for diagnostics, totals since New.
type Stats struct {
	Lookups           uint64 // Resolve and ResolvePacket calls
	PacketLookups     uint64 // ResolvePacket calls
	ForkIdentities    uint64 // identities a forked child was given from its parent (see the package doc)
	Hits              uint64 // Resolve calls that returned an owner
	Misses            uint64 // Resolve calls that returned ErrNotFound
	CacheHits         uint64 // owners answered from the flow cache (socket gone)
	ListenerFallbacks uint64 // flows credited to the listening socket (not yet accepted)
	NoProcess         uint64 // sockets found whose process could not be seen
	NetlinkQueries    uint64 // sock_diag requests sent
	NetlinkErrors     uint64 // sock_diag failures (then /proc/net is read)
	TableReads        uint64 // /proc/net/* socket tables read
	MalformedLines    uint64 // /proc/net lines skipped as malformed
	PartialScans      uint64 // scans of hot and new processes only
	FullScans         uint64 // scans of every process's fds
	ScansSkipped      uint64 // full scans not made: the socket closed meanwhile
	ProcsScanned      uint64 // /proc/PID/fd directories read
	Unreadable        uint64 // fd directories not readable (EACCES)
	ProcEvents        uint64 // fork/exec events from the process connector
	ProcEventErrors   uint64 // process connector failures (events lost)
	ConnEvents        uint64 // TCP connect and UDP send tracepoint events read
	ConnEventErrors   uint64 // tracepoint unavailable, or lines not understood
	ConnEventHits     uint64 // flows named by a connect or send event when nothing else could
	ConnEventLost     uint64 // events whose process exited before it could be read
	ConnEventsDropped uint64 // events the kernel dropped, its trace buffer full
	Processes         int    // processes currently indexed
	Sockets           int    // socket inodes currently indexed
	CachedFlows       int    // flows currently remembered

	// ConnEventsErr says why the connect and send events do not run (nil
	// while they do, or with Options.NoConnEvents): tracefs not mounted
	// and Options.MountTracefs off, no permission, a kernel without the
	// tracepoints, or a /proc that shows another pid namespace than the
	// initial one, whose pids the events speak (a container's own /proc).
	// The rest of the Resolver works without them.
	ConnEventsErr error
	// ProcEventsErr says why the process connector does not run (nil
	// while it does, or with Options.NoProcEvents): as ConnEventsErr, or
	// this process is outside the initial pid or user namespace, the only
	// ones the connector reports to.
	ProcEventsErr error

	Forwarded     uint64 // forwarded flows looked for in another namespace
	NATLookups    uint64 // conntrack queries
	NATTranslated uint64 // flows of this namespace looked up by their untranslated tuple
	NATErrors     uint64 // conntrack queries that failed
	Namespaces    int    // network namespaces whose addresses are indexed
	// ForwardingErr says why forwarded and NAT'd flows are not followed
	// (nil while they are): Options.NoForwarding, a fixture /proc, no
	// right to enter namespaces. ConntrackErr says why NAT'd ones are not
	// (connection tracking not running, or its netlink module not
	// loaded). NamespaceErr is the latest namespace that could not be
	// watched.
	ForwardingErr, ConntrackErr, NamespaceErr error
}
