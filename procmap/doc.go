// Package procmap finds the process that owns a flow seen on the wire.
//
// A Resolver answers Resolve(Flow) in two steps: which socket matches the
// flow, then which process holds that socket. It keeps no global state,
// prints nothing, and changes nothing on the host unless its Options allow
// it (MountTracefs, RaisePriority, RemoveStaleInstances). The /proc root is
// injectable (Options.ProcRoot) so tests run against fixture trees in
// testdata/. It is meant to be called from a background worker, never from
// the packet path.
//
// The mechanisms it composes are internal packages, each documented on its
// own: sockdiag (the kernel's exact socket lookup), proctable (the
// /proc/net socket tables), procfs (/proc/PID), proccon (the process
// connector), tracefs (tracepoint instances and their lines), netns
// (code run inside another network namespace), nsaddrs (the host's
// namespaces and their addresses) and ctlookup (the connection tracking
// table).
//
// # Which socket
//
// TCP and UDP flows are looked up with one exact sock_diag request each: the
// answer is the socket the kernel itself would deliver to.
//   - TCP: the exact 4-tuple; a connection established but not yet
//     accept()ed, or in SYN_RECV, has no inode yet (no file): it is
//     credited to the listener on the local address and port (specific
//     address first, then the wildcard), found with a second exact query.
//     A tuple with no socket at all also finds that listener (the kernel's
//     lookup falls back to it).
//   - UDP: the socket a datagram from remote to local is delivered to:
//     connected to that peer first, then bound to the local address, then
//     bound to the wildcard (0.0.0.0 / ::); unconnected senders (sendto)
//     are found by their local address and port.
//   - IPv4 flows match dual-stack "::" sockets (IPv4-mapped addresses are
//     unmapped everywhere; a Flow given with mapped addresses is unmapped).
//
// With Options.NoNetlink, or when a request fails (Stats.NetlinkErrors),
// the same rules are applied in Go to /proc/net/{tcp,tcp6,udp,udp6}. Ping
// sockets are not in sock_diag, so ICMP and raw flows are always matched
// in /proc/net/{icmp,icmp6,raw,raw6}:
//   - ICMP (Proto 1, 58): Flow.Local's port is the ICMP echo identifier
//     (0 for a message that is no echo, or an echo on the kernel's side:
//     the Accountant keys a request by the sender's identifier and a reply
//     by the receiver's). A ping socket bound to that identifier on the
//     local address (or the wildcard), connected to the remote or not,
//     matches first; otherwise a raw socket of that protocol on the local
//     address or the wildcard (ping as root, traceroute -I, radvd); then
//     an IPPROTO_RAW (255) socket. Flow.Remote's port is ignored.
//   - Any other protocol P: a raw socket of protocol P, then an IPPROTO_RAW
//     (255) socket, which can send any protocol. Ports are ignored.
//
// # Packet sockets
//
// ResolvePacket finds the packet socket (AF_PACKET) that sent frames that
// only a packet socket sends (frames that are not IP, IP from the
// unspecified address: DHCP clients, LLDP agents, injectors). The frames
// carry no socket's address: the sockets of the namespace (packet_diag,
// else /proc/net/packet) are told apart by the EtherType and interface
// they are bound to: that EtherType before protocol 0 (a socket that
// receives nothing, so sends) before every protocol (ETH_P_ALL), that
// interface before none. Captures (a receive ring and no send ring, which
// packet_diag shows) and the calling process's own sockets (gohogs's
// capture) are never the sender, and two processes' sockets alike are no
// answer.
//
// # Network namespaces
//
// Flow.NetNS is the inode of a network namespace (readlink of
// /proc/PID/ns/net "net:[N]", or stat of /run/netns/NAME); 0 or NetNS()
// mean the resolver's own. Another namespace is located through a process
// living in it (its ns/net link is read when the process is first seen) or
// through a file in Options.NetNSDir; sock_diag runs on a socket opened
// inside it, and the /proc/net fallback reads /proc/PID/net of that
// process (checked to still be in that namespace) or /proc/thread-self/net
// from a thread inside it. Flows are keyed by namespace, so equal addresses
// in two namespaces never collide. A namespace unused for a while is
// forgotten and its socket closed (it would keep the namespace alive).
//
// # Forwarded and NAT'd flows
//
// A packet captured passing through the resolver's namespace (a bridge, a
// container's veth, a routed interface: neither address is the
// namespace's) is a Flow with Forwarded set, for one end: that end is
// looked for in the namespace of this host that holds its address, as a
// flow of that namespace. internal/nsaddrs keeps the index: of the
// namespaces named by a process's ns/net link or a file in NetNSDir, those
// an interface of the resolver's namespace leads to (a veth's peer), their
// addresses followed by a netlink subscription inside each. Addresses repeat
// across namespaces, so the end is placed only if exactly one namespace
// behind the interface that the resolver's routing table sends the
// address to holds it (behind: the peer of that veth, or of a veth in that
// bridge); otherwise Resolve answers an *EndError (EndNotHosted,
// EndAmbiguous), never a guess. HostedAddrs is the set of the addresses of
// those namespaces, for the packet path.
//
// NAT hides the end. When the socket lookup of a flow of the resolver's
// own namespace finds no connected socket, the kernel's connection
// tracking table of the namespace (internal/ctlookup, one exact query per
// lookup, never a dump) is asked for the flow's entry: a masqueraded
// source port or a published port (DNAT) is then looked up by the
// untranslated tuple, in the namespace holding it (Owner.NetNS); so is an
// ICMP or ICMPv6 echo's masqueraded identifier. For a
// forwarded flow the entry tells what each end sees: the flow as the far
// side of the NAT sees an end is not that end's socket's (EndBeyondNAT),
// and when the translated copy of the connection crosses an interface in
// Options.Captured too, the untranslated one is EndCountedThere: the
// bytes are counted once, where they leave or enter the host.
//
// The index is kept in the background: namespaces are looked for every 2 s,
// when a link of the resolver's namespace changes (a container's veth
// appears or goes) and on a miss (at most once a second); one that nothing
// names or leads to any more is dropped, and its subscription socket
// closed, since the socket keeps the namespace alive until then.
//
// # Which process
//
// Socket inodes are mapped to pids from the links /proc/PID/fd/N ->
// "socket:[inode]". The index is kept per process as fd → inode and is
// updated incrementally on a miss, cheapest first, stopping as soon as the
// inode is found:
//  1. in the "hot" processes (those that owned the latest resolved
//     sockets), the fd numbers that lately changed to a new socket: a
//     client making connection after connection reuses one fd number, so
//     its next socket is found with one readlink;
//  2. the processes the process connector reported, then those never
//     scanned (pid set diff against a listing of /proc), then those started
//     less than 2 s ago with at most 1024 fds, newest first (a process
//     often opens its sockets just after a first scan saw it without them);
//  3. every fd of the hot processes, new fd numbers first;
//  4. every process ("full scan"), at most once per
//     Options.FullScanInterval, so that a burst of misses for sockets no
//     process can be seen holding costs a bounded number of full scans.
//
// A hot process's /proc/PID directory is kept open: it refers to that very
// process, so a reused pid cannot be mistaken for it. A process is its pid
// plus its start time: a reused pid is a new Process. Name, uid, start time
// and command line are read when a process is first seen, so its bytes
// keep its name after it exits; they are read again when a young process's
// sockets are resolved, or after the process connector reported an exec (a
// first read between fork and exec saw the parent's command line). The
// name is argv[0] as nethogs takes it: the bytes of /proc/PID/cmdline up to
// the first NUL (it may hold '/' and spaces, as "sshd: root@pts/0"), or
// comm for an empty command line (kernel threads).
//
// With its identity, a process's cgroup is read (/proc/PID/cgroup,
// internal/cgroup): Process.Cgroup, its systemd unit, and the container
// its runtime's cgroup names (runtime, id, Kubernetes pod). With
// Options.ContainerNames, Docker's and podman's API are asked for the
// container's name in the background (internal/runtimeapi); a Process read
// before the answer keeps an empty name, which ContainerName gives later.
//
// A process that exits during a scan, an fd closed meanwhile, or EACCES on
// an fd directory are normal. When the socket is found but no process can
// be seen holding it (no permission, process gone, fd in flight in a unix
// socket), Resolve returns the Owner with its inode and uid and a nil
// Process.
//
// # Short-lived connections
//
// The owner of every resolved flow is remembered (Options.FlowCacheTTL,
// longer than TCP's TIME_WAIT; at most Options.FlowCacheSize flows, the
// oldest forgotten first). When the socket is gone (closed, or in
// TIME_WAIT, whose sock_diag entry has inode 0) the remembered owner is
// returned; for UDP, the owner of the local address and port is remembered
// too, so a closed unconnected socket's datagrams to new peers still find
// it. A live socket always wins over the cache, and so does, for TCP, a
// connect event (below) read after the owner was remembered: the client
// port was given to a new connection to the same peer.
//
// Every table the Resolver keeps for short-lived flows (this cache, the
// connect and send events, the identities being read) forgets its oldest
// entries first from a queue, in constant time per insertion, so that a
// table at its bound is never walked per insertion.
//
// # Connections that end before their first packet is looked up
//
// Under a storm of short connections, a connection is often over (the
// client's socket destroyed, the server's in TIME_WAIT without inode)
// before capture has handed its first packet over, and a process that
// uploads and exits may be gone as well. With root and tracefs mounted
// (Options.MountTracefs may mount it), the Resolver follows three kernel
// tracepoints in a tracefs instance of its own: TCP's transitions to and
// from SYN_SENT, which happen in the connecting thread, and the route
// lookups of UDP sends (fib and fib6), which happen in the sender's
// thread. Without them (Options.NoConnEvents, or Stats.ConnEventsErr says
// why) the rest works.
//
// The process of each event is read at once, on goroutines of their own,
// so that it is named even after it exits. A process that sends a datagram
// and exits is often gone before its event is read; so, when the process
// connector runs too, every process is read as it execs, on the
// connector's thread (Options.RaisePriority lets that thread run before
// the new processes), and one gone by the time its event is read is named
// by that identity; a fork of the same pid (a reused pid) forgets it. A
// new process is given at its fork its parent's name, command line and
// uid with its own start time (one small file of the child's; the
// parent's identity once): a forked child that never execs (a prefork
// server's worker, a subshell, a multiprocessing worker) and exits, or is
// read as a zombie, is named so (Stats.ForkIdentities); one gone before
// its fork event is handled gets the event's timestamp as its start
// time, and an event whose identity read found its process gone takes
// the identity its fork or exec left meanwhile. An identity
// remembered with the same start time but another command line is not
// reused: it was read before an exec whose event is still on its way (ip
// netns exec execs twice, in two namespaces). The
// process of an event's thread is the one the connector reported for that
// task when it was created, else the tgid the line prints if it names the
// thread itself (a main thread), else the one /proc says; another tgid on
// the line comes last: the kernel prints the tgid it last recorded for
// that tid, which for a task that exited before being switched out may be
// an earlier thread's.
//
// These answers are used only when nothing else can answer (the socket is
// gone, or its holder is not seen), checked against the flow's network
// namespace; for a UDP port, the latest sender wins over the remembered
// owner (ports are reused by later processes), and for a TCP tuple a
// connect read after the owner was remembered wins. An answer is kept a
// few seconds after its event was read: a flow is looked up at its first
// packet and retried for seconds at most, then its owner is remembered.
// Resolve waits a moment for an identity still being read, without
// holding the Resolver's lock.
//
// # Pid namespaces
//
// The connect tracepoints and the process connector name tasks by their
// pids in the initial pid namespace. A /proc of another one (gohogs in a
// container with a pid namespace and /proc of its own) numbers processes
// differently, and nothing maps one to the other, so with such a /proc
// both sources are off (Stats.ConnEventsErr and ProcEventsErr wrap a
// *PIDNamespaceError): every pid the Resolver returns is the pid of that
// process in the /proc it reads. The process connector also needs this
// process in the initial pid and user namespaces (it reports to no
// other), which a container given the host's /proc (Options.ProcRoot) is
// not.
//
// # What is still missed, and why
//
//   - Without root or tracefs: a flow whose socket closed before it was
//     first resolved (TIME_WAIT keeps the tuple but neither inode nor uid),
//     unless it is the server side of a listener (credited to the listener).
//   - A UDP sender or TCP client that exits before its event is read and
//     was seen neither exec nor fork: a process started before the
//     Resolver, or any process without the process connector. Its pid is
//     known, but not who it was: it is not credited. One read as a zombie
//     (exited, not yet reaped) is named by its comm (the first 15 bytes of
//     the program name), its command line being gone.
//   - A forked child that changes its uid (setuid after fork, as prefork
//     servers drop privileges) or its command line (setproctitle) and
//     exits before it is read keeps its parent's.
//   - A ping, raw or packet socket closed before its first packet is
//     looked up (tens of milliseconds: ping -c 1 to a near host, a one-shot
//     injector): no event names the sender of those, so its bytes go to
//     the unknown rows. ICMP errors are credited to nobody (the kernel
//     sends them; one received is not traced back to the socket whose
//     packet caused it), and with a raw ICMP socket open on the address,
//     the kernel's own echo replies and errors are credited to it (it
//     receives a copy of every ICMP message; the flow does not say who
//     sent).
//   - A raw socket of TCP or UDP, or an IPPROTO_RAW socket writing TCP or
//     UDP (scanners): those flows are looked up among TCP and UDP sockets
//     only. IPPROTO_RAW sockets only send, but a received packet of a
//     protocol that only such a socket matches is credited to it. SCTP
//     sockets (/proc/net/sctp) are not read: SCTP goes to "unknown IP"
//     unless a raw socket owns it.
//   - A packet socket bound to every protocol on every interface, with no
//     ring, beside another of another process: neither can be told to be
//     the sender. Frames of a socket with PACKET_QDISC_BYPASS are not
//     captured at all.
//   - A process whose exec the connector reports only after it exited:
//     rare, rarer with Options.RaisePriority, more common when every CPU
//     is busy or with one P (GOMAXPROCS=1), where the connector's
//     goroutine also waits for the P.
//   - A flood of datagrams from unconnected sockets can fill the trace
//     buffer: the events lost (Stats.ConnEventsDropped) are senders not
//     named.
//   - The server side of a connection accepted by a process other than the
//     listener's first holder (pre-forked servers) goes to that holder.
//   - A socket shared by several processes (fork) is credited to the first
//     holder found.
//   - Without root (CAP_SYS_PTRACE), other users' fds are unreadable:
//     those sockets come back with Process nil.
//   - /proc/net does not say whether a "::" socket is IPV6_V6ONLY; the
//     fallback assumes it is dual-stack (sock_diag knows).
//   - A long-lived process that execs another program keeps the pid and
//     start time: without the process connector (not root, or events lost)
//     its new name is only read if it is still young.
//   - A namespace that no process lives in and no file in NetNSDir names
//     (kept alive by a socket or a bind mount elsewhere) is not indexed:
//     its ends are EndNotHosted. So is a namespace behind a namespace (a
//     container's own bridge): only the resolver's own routes are asked.
//   - Entering other namespaces needs CAP_SYS_ADMIN: without it no
//     forwarded flow is followed (Stats.ForwardingErr). Without connection
//     tracking, or with nf_conntrack_netlink a module not loaded (asking
//     would load it), NAT'd flows are not (Stats.ConntrackErr), and a
//     forwarded flow's far end, if it is in a namespace behind, is
//     credited as if there were no NAT.
//   - A container's traffic with a process of the resolver's own
//     namespace is credited to that process only (one end is local: the
//     other is not looked for, as with any remote peer).
//   - In a container, a connection whose socket closed before it was
//     looked up is missed as in the resolver's own namespace (the connect
//     events name its client, checked against its namespace; the listener
//     names a server that still listens).
package procmap
