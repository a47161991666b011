package main

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// The protocols beside TCP and UDP (issue 15): ICMP echoes, a raw IP
// socket, and children forked without exec. nethogs 0.8.7 accounts TCP
// and UDP only: on the first two its share is 0 by design.

// rightPidAndName is the label of the protocol scenarios' credited share.
const rightPidAndName = "credited to the right pid and name / wire bytes"

// icmpEcho: ping -s 1000, 30 echoes, from A to B.
func icmpEcho() *scenario {
	const pings, size = 30, 1000
	return &scenario{
		name:  "icmp-ping",
		title: fmt.Sprintf("ICMP: ping -s %d, %d echoes", size, pings),
		desc: fmt.Sprintf("`ping -c %d -i 0.05 -s %d` (iputils, as root: a raw ICMP socket) from A to B. Both monitors run "+
			"`-t -C -d 1 -v 2` on A's veth. \"credited/wire\" is the bytes of the row of ping's pid named `ping` over the veth's "+
			"frame bytes (the echoes and their replies, and a few frames of ARP and neighbour discovery).", pings, size),
		place: onVeth,
		view:  "2",
		traffic: func(e *env, s *session) (*traffic, error) {
			return e.clientCommand(e.p.NSA, 20*time.Second, "ping", "-q", "-c", strconv.Itoa(pings), "-i", "0.05", "-s", strconv.Itoa(size),
				e.p.AddrB4.String())
		},
		measure: func(r *result, s *session, t *traffic, run int) {
			shareMetrics(r, s, rightPidAndName, 0.95, pidsNamed(t.pids(), "ping"))
			commonMetrics(r, s, run)
		},
	}
}

// rawIP: a raw socket of IP protocol 253 sends 400 packets of 1000-byte
// frames from A to B.
func rawIP() *scenario {
	const packets, frame = 400, 1000
	return &scenario{
		name:  "raw-ip-253",
		title: fmt.Sprintf("Raw IP: protocol 253, %d × %d B frames", packets, frame),
		desc: fmt.Sprintf("A generator in A opens a SOCK_RAW socket of IP protocol 253 and sends %d packets of %d-byte frames "+
			"to B, 2 ms apart, then exits; B's kernel answers some with ICMP protocol unreachable. Both monitors run "+
			"`-t -C -d 1 -v 2` on A's veth. \"credited/wire\" is the bytes of the generator's row over the veth's frame bytes.",
			packets, frame),
		place: onVeth,
		view:  "2",
		traffic: func(e *env, s *session) (*traffic, error) {
			return e.client(e.p.NSA, 20*time.Second, "raw", e.p.AddrB4.String(), "253", strconv.Itoa(packets), strconv.Itoa(frame))
		},
		measure: func(r *result, s *session, t *traffic, run int) {
			shareMetrics(r, s, rightPidAndName, 0.95, pidsNamed(t.pids(), s.e.self))
			commonMetrics(r, s, run)
		},
	}
}

// forkScript is a parent that prints its argv[0] (its row's name), then
// forks children one after another (no exec): each uploads BYTES to
// ADDR:PORT at full speed, prints its pid and exits.
const forkScript = `import os, socket, sys
addr, port, n, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
print(open("/proc/self/cmdline", "rb").read().split(b"\0")[0].decode(), flush=True)
buf = bytes(65536)
for _ in range(n):
    pid = os.fork()
    if pid == 0:
        s = socket.create_connection((addr, port), timeout=10)
        left = size
        while left > 0:
            left -= s.send(buf[:min(left, len(buf))])
        s.shutdown(socket.SHUT_WR)
        while s.recv(65536):
            pass
        print(os.getpid(), flush=True)
        os._exit(0)
    os.waitpid(pid, 0)
`

// forkedChildren: one python3 parent forks 20 children one after another,
// each uploading 256 KiB at full speed and exiting.
func forkedChildren() *scenario {
	const children, size = 20, 256 << 10
	// What the run's parent printed, for measure (runs are one at a time).
	var pids []int
	var name string
	return &scenario{
		name:  "forked-children",
		title: fmt.Sprintf("Forked children: %d × %d KiB, one after another, no exec", children, size>>10),
		desc: fmt.Sprintf("A python3 parent in A forks %d children one after another (os.fork, no exec); each opens one "+
			"TCP/IPv4 connection, uploads %d bytes to the server in B at full speed, waits for the server's close and exits "+
			"(it lives milliseconds). Both monitors run `-t -C -d 1 -v 2` on A's veth. \"credited/wire\" is the bytes of the "+
			"rows with a child's pid and the parent's name over the veth's frame bytes.", children, size),
		place: onVeth,
		view:  "2",
		traffic: func(e *env, s *session) (*traffic, error) {
			t, err := e.clientCommand(e.p.NSA, 60*time.Second, "python3", "-c", forkScript, e.p.AddrB4.String(), strconv.Itoa(portDiscard),
				strconv.Itoa(children), strconv.Itoa(size))
			if err != nil {
				return nil, err
			}
			out := t.client().out.String()
			lines := strings.Fields(out)
			if len(lines) != children+1 {
				return nil, fmt.Errorf("forking parent printed %q, want its name and %d pids", out, children)
			}
			name, pids = lines[0], pids[:0]
			for _, l := range lines[1:] {
				pid, err := strconv.Atoi(l)
				if err != nil {
					return nil, fmt.Errorf("forking parent printed %q", l)
				}
				pids = append(pids, pid)
			}
			return t, nil
		},
		measure: func(r *result, s *session, t *traffic, run int) {
			shareMetrics(r, s, rightPidAndName, 0.98, pidsNamed(pids, name))
			commonMetrics(r, s, run)
		},
	}
}

// genRaw: ADDR PROTO PACKETS FRAME. A raw socket of IP protocol PROTO
// sends PACKETS packets of FRAME-byte Ethernet frames to ADDR, 2 ms apart,
// and prints "sent N".
func genRaw(a []string) error {
	if len(a) != 4 {
		return fmt.Errorf("want ADDR PROTO PACKETS FRAME, got %q", a)
	}
	ip, err := netip.ParseAddr(a[0])
	if err != nil || !ip.Is4() {
		return fmt.Errorf("ADDR %q: not an IPv4 address", a[0])
	}
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, atoi(a[1]))
	if err != nil {
		return fmt.Errorf("raw socket: %w", err)
	}
	defer unix.Close(fd)
	payload := make([]byte, atoi(a[3])-14-20)
	pace := newPacer(500)
	n := atoi(a[2])
	for i := range n {
		if err := unix.Sendto(fd, payload, 0, &unix.SockaddrInet4{Addr: ip.As4()}); err != nil {
			return fmt.Errorf("send %d: %w", i, err)
		}
		pace.wait(i + 1)
	}
	fmt.Printf("sent %d\n", n)
	return nil
}
