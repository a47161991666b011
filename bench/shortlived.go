package main

import (
	"fmt"
	"strconv"
	"time"
)

// shortLived: n processes each uploading size bytes, all at once or one
// after another.
func shortLived(n, size int, concurrent bool) *scenario {
	how, tag := "one after another", "-seq"
	if concurrent {
		how, tag = "all started at once", ""
	}
	return &scenario{
		name:  fmt.Sprintf("shortlived-%dx%dKiB%s", n, size>>10, tag),
		title: fmt.Sprintf("Short-lived processes: %d × %d KiB, %s", n, size>>10, how),
		desc: fmt.Sprintf("%d client processes in A (%s), each opens one TCP/IPv4 connection, uploads %d bytes to the server in B, "+
			"waits for the server's close, and exits. Both monitors run `-t -C -d 1 -v 2` on A's veth. \"credited/wire\" is the "+
			"bytes of the rows with one of those pids and the right name (argv[0]), each row's largest total over the run, over the "+
			"veth's frame bytes. The processes are started by `ip netns exec`, which execs the generator: a monitor that reads "+
			"the name before the exec shows the pid under the name `ip` (right pid, wrong name; the second row counts those too).", n, how, size),
		place: onVeth,
		view:  "2",
		traffic: func(e *env, s *session) (*traffic, error) {
			t := &traffic{}
			for range n {
				g, err := e.gen(e.p.NSA, "upload", e.addr(4, portDiscard), strconv.Itoa(size))
				if err != nil {
					return nil, err
				}
				t.clients = append(t.clients, g)
				if !concurrent {
					if err := e.wait(g, 20*time.Second); err != nil {
						return nil, err
					}
				}
			}
			return t, e.waitAll(t.clients, 30*time.Second)
		},
		measure: func(r *result, s *session, t *traffic, run int) {
			pids := t.pids()
			cg, ag, cn, an := shares(s, pids)
			m := r.metric("credited to the right pid and name / wire bytes", "", 1, 3, higher)
			atLeast95(m)
			m.add(cg, cn)
			r.metric("credited to the right pid, any name / wire bytes", "", 1, 3, higher).add(pidShare(s.gb, pids, s.wire()), pidShare(s.nb, pids, s.wire()))
			r.metric("all rows / wire bytes", "", 1, 3, nearOne).add(ag, an)
			commonMetrics(r, s, run)
		},
	}
}
