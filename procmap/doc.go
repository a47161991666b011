// Package procmap finds the process that owns a flow seen on the wire.
//
// A Resolver answers Resolve(Flow) in two steps: which socket matches the
// flow (socket tables), then which process holds that socket (an index of
// socket inode → pid built from /proc/PID/fd). It keeps no global state and
// prints nothing; the /proc root is injectable (Options.ProcRoot) so tests
// run against fixture trees in testdata/. It is meant to be called from a
// background worker, never from the packet path; calls are serialized.
//
// # Which socket
//
// TCP and UDP use sock_diag (NETLINK_SOCK_DIAG) with one exact request per
// flow (SOCK_DIAG_BY_FAMILY without NLM_F_DUMP): the kernel runs its own
// lookup, so the answer is what the kernel would deliver to, in a few µs
// and without reading any table:
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
// With Options.NoNetlink, or when a netlink request fails (counted in
// Stats.NetlinkErrors), the same rules are applied in Go to
// /proc/net/{tcp,tcp6,udp,udp6}. Raw and ICMP sockets are not in sock_diag
// for ping sockets, so they are always read from /proc/net/{icmp,icmp6,raw,
// raw6}:
//   - ICMP (Proto 1, 58): Flow.Local's port is the ICMP echo identifier. A
//     ping socket (SOCK_DGRAM, IPPROTO_ICMP) bound to that identifier on the
//     local address (or the wildcard), and connected to the remote or not,
//     matches first; otherwise a raw socket of that protocol (its "port" in
//     /proc/net/raw is the protocol number) on the local address or the
//     wildcard. Flow.Remote's port is ignored.
//   - Any other protocol P: a raw socket of protocol P, then an IPPROTO_RAW
//     (255) socket, which can send any protocol. Ports are ignored.
//
// The /proc/net parser is hand-written (prometheus/procfs's NetTCP fails a
// whole file on one bad line and does not read raw/icmp): a malformed line
// is skipped and counted in Stats.MalformedLines, never fatal.
//
// # Network namespaces
//
// Flow.NetNS is the inode of a network namespace (readlink of
// /proc/PID/ns/net "net:[N]", or stat of /run/netns/NAME); 0 or NetNS()
// mean the resolver's own. Another namespace is located through a process
// living in it (its ns/net link is read when the process is first seen) or
// through a file in Options.NetNSDir; sock_diag runs on a socket opened
// inside it (setns on a locked thread), and the /proc/net fallback reads
// /proc/PID/net of that process (checked to still be in that namespace) or
// /proc/thread-self/net from a thread inside it. Flows are keyed by
// namespace, so equal addresses in two namespaces never collide. Namespace
// sockets unused for 30 s are closed (they would keep the namespace alive).
//
// # Which process
//
// Socket inodes are mapped to pids from the links /proc/PID/fd/N ->
// "socket:[inode]". The index is kept per process as fd → inode and is
// updated incrementally on a miss, cheapest first, stopping as soon as the
// inode is found:
//  1. in the "hot" processes (the 4 that owned the latest resolved
//     sockets), the fd numbers that lately changed to a new socket: a
//     client making connection after connection reuses one fd number, so
//     its next socket is found with one readlink;
//  2. processes never scanned (pid set diff against a listing of /proc),
//     and processes started less than 2 s ago with at most 1024 fds,
//     newest first (a process often opens its sockets just after a first
//     scan saw it without them);
//  3. every fd of the hot processes, new fd numbers first;
//  4. every process ("full scan"), at most once per
//     Options.FullScanInterval (100 ms by default): a burst of misses for
//     sockets no process can be seen holding costs at most 10 full scans a
//     second.
//
// A hot process's /proc/PID directory is kept open: that fd refers to that
// very process, so a reused pid cannot be mistaken for it. A process is its
// pid plus its start time (field 22 of /proc/PID/stat, parsed after the last
// ')' since comm may hold spaces and parentheses): a reused pid is a new
// Process. Name, uid, start time and command line are read when a process
// is first seen, so its bytes keep its name after it exits; they are read
// again when a young process's sockets are resolved, or after the process
// connector reported an exec (a first read between fork and exec saw the
// parent's command line). With root, the netlink process connector
// (fork/exec events, read on a goroutine of its own) reports new processes
// at once; they are scanned first on a miss. It exists in the initial
// network namespace only: a Resolver made in another one (gohogs run with
// "ip netns exec") opens its socket in the namespace of pid 1, or of
// kthreadd (pid 2) if pid 1's cannot be opened. The name is
// argv[0] as nethogs takes it: the bytes of /proc/PID/cmdline up to the
// first NUL (it may hold '/' and spaces, as "sshd: root@pts/0"; a process
// that rewrote its command line with spaces keeps the whole string), or
// comm for an empty command line (kernel threads).
//
// A process that exits during a scan, an fd closed meanwhile, or EACCES on
// an fd directory are normal. When the socket is found but no process can
// be seen holding it (no permission, process gone, fd in flight in a unix
// socket), Resolve returns the Owner with its inode and uid and a nil
// Process.
//
// # Short-lived connections
//
// The owner of every resolved flow is remembered (Options.FlowCacheTTL, 2
// minutes by default, longer than TCP's 60 s TIME_WAIT; at most
// Options.FlowCacheSize flows, 4096 by default, the oldest forgotten first).
// When the socket is gone (closed, or in TIME_WAIT, whose sock_diag entry
// has inode 0) the remembered owner is returned; for UDP, the owner of the
// local address and port is remembered too, so a closed unconnected
// socket's datagrams to new peers still find it. A live socket always wins
// over the cache, and so does, for TCP, a connect event (below) read after
// the owner was remembered: the client port was given to a new connection
// to the same peer.
//
// Every table the Resolver keeps for short-lived flows (this cache, the
// connect and send events, the identities being read) forgets its oldest
// entries first from a queue, in constant time per insertion, so that a
// table at its bound is never walked (at 3000 connections a second such
// a walk per event once took 70% of gohogs's CPU).
//
// # Connections that end before their first packet is looked up
//
// At 200 or 2000 short connections a second, a connection is over (the
// client's socket destroyed, the server's in TIME_WAIT without inode) before
// capture has handed its first packet over, and a process that uploads and
// exits may be gone as well. With root, the Resolver follows three kernel
// tracepoints in a tracefs instance of its own (mounting tracefs if needed;
// Options.NoConnEvents turns this off; without tracefs or either of the
// first two, Stats.ConnEventErrors counts it and none runs; without fib6 (a
// kernel without IPv6) it counts it and the others run):
//   - sock:inet_sock_set_state, filtered to TCP's SYN_SENT transitions:
//     connect() runs CLOSE→SYN_SENT in the connecting thread, so its
//     process (see below) is the client; the port is chosen after that event, so the socket's next
//     transition, joined on the socket's kernel address, gives it.
//   - fib:fib_table_lookup and fib6:fib6_table_lookup, filtered to UDP
//     with a local port: an unconnected socket looks its route up on every
//     send, a connected one once, in connect() (which binds the port
//     first), in the sender's thread, with both ports (IPv4 and IPv6; the
//     field dump prints no IPv6 address, so a port is keyed by family and
//     local port only). Lookups in an interrupt (a datagram received)
//     are skipped.
//
// The process's identity is read at once, on goroutines of their own, so it
// is named even after it exits. That is often too late: a process that
// sends a datagram and exits is gone within a millisecond, before its event
// is read. So, when the process connector (see above) runs too:
//   - every process is read as it execs, on the connector's goroutine (its
//     thread is the one the kernel has just woken; a goroutine started for
//     the read may wait milliseconds for a CPU while the new processes keep
//     them all busy), and a process gone by the time its event is read is
//     named by that identity, argv[0] included; a fork of the same pid (a
//     reused pid) forgets it. That goroutine has a thread of its own, at
//     nice -10 (with CAP_SYS_NICE), so that it runs before the new
//     processes, and handles a batch of events in two passes: these reads
//     first, then the Resolver's part, which waits for its lock;
//   - the process of each event's thread is the one the connector reported
//     for that task when it was created (threads included), else the
//     line's tgid if it names the thread itself (a main thread), else the
//     one /proc says; another tgid on the line comes last, because the
//     kernel prints the tgid it last recorded for that tid, which for a
//     task that exited before being switched out is an earlier thread's of
//     the same tid.
//
// These answers are used only when nothing else can answer (the socket is
// gone, or its holder is not seen), checked against the flow's network
// namespace; for a UDP port, the latest sender wins over the remembered
// owner (ports are reused by later processes), and for a TCP tuple a
// connect read after the owner was remembered wins. An answer is kept 5 s
// after its event was read: a flow is looked up at its first packet and
// retried for seconds at most, then its owner is remembered. What they
// cost: two lines of text per connect, one per UDP datagram from an
// unconnected socket (parsed without allocating), four small /proc reads
// per exec, a map entry per new thread on the host and, at 3000
// connections a second, about 1.5 MB of answers.
//
// # What is still missed, and why
//
//   - Without root or tracefs: a flow whose socket closed before it was
//     first resolved (TIME_WAIT keeps the tuple but neither inode nor uid),
//     unless it is the server side of a listener (credited to the listener).
//   - A UDP sender (IPv4 or IPv6) or TCP client that exits before its
//     event is read and was not seen exec: a forked child that did not
//     exec (pre-forked workers), a process that execed before the
//     Resolver started, or any process without the process connector.
//     Its pid is known, but not who it was: it is not credited. One read
//     as a zombie (exited, not yet reaped) is named by its comm (the
//     first 15 bytes of the program name), its command line being gone.
//   - A process whose exec the connector reports only after it exited: on
//     a 2-core machine shared with other work, 20 senders started at once,
//     each exiting right after its datagrams, are named 99.8% of the time
//     with the right pid (1078 of 1080 in 54 runs of TestLiveShortLivedUDP6,
//     loopback and a netns; 98.6% without the raised priority). With one P
//     (GOMAXPROCS=1) the connector's goroutine also waits for the P behind
//     the others: 99.4% (477 of 480).
//   - A flood of datagrams from unconnected sockets can fill the trace
//     buffer (2 MB per CPU): the events lost are senders not named.
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
//     its new name is only read if it is still young (started < 2 s ago).
package procmap
