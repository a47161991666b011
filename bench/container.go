package main

import (
	"fmt"
	"math"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/gohogs/gohogs/internal/netnstest"
)

// The container scenarios (issue 14): a host namespace H with a container
// namespace C behind it, masqueraded on the uplink to R (standing for the
// outside world), and a published port of H leading to C
// (netnstest.NAT). Both monitors run in H; the container's processes are
// generators in C.

// natEnv is the NAT topology and its servers, made at the first container
// scenario.
type natEnv struct {
	n      *netnstest.NAT
	server *genProc // in R: every server port
	inner  *genProc // in C: the published port leads to its discard port
}

// spot is where a scenario's monitors watch, when a place does not say.
type spot struct {
	ns, ifc string
	extra   []string // more interfaces, after the options
	tick    string   // where the closing tick datagrams go (host:port)
}

// natWatch is which of H's interfaces a container scenario watches.
type natWatch int

const (
	natUplink natWatch = iota // the uplink: every packet NAT'd
	natVeth                   // the container's veth: every packet forwarded
	natBoth                   // both: each packet captured twice
)

func (w natWatch) String() string { return [...]string{"uplink", "veth", "both"}[w] }

// nat returns the topology, making it and starting its servers the first
// time.
func (e *env) natTopology() (*natEnv, error) {
	if e.nat != nil {
		return e.nat, nil
	}
	n, err := netnstest.CreateNAT("gbn", netnstest.NATOptions{Published: 8080, Container: portDiscard})
	if err != nil {
		return nil, err
	}
	e.cl.add(func() { e.removed("NAT namespaces", n.Remove()) })
	if out, err := exec.Command("ip", "netns", "exec", n.NSC, "sysctl", "-qw", "net.ipv4.tcp_tw_reuse=1").CombinedOutput(); err != nil {
		return nil, fmt.Errorf("tcp_tw_reuse in %s: %w: %s", n.NSC, err, strings.TrimSpace(string(out)))
	}
	ne := &natEnv{n: n}
	if ne.server, err = e.server(n.NSR); err != nil {
		return nil, err
	}
	if ne.inner, err = e.server(n.NSC); err != nil {
		return nil, err
	}
	e.nat = ne
	return ne, nil
}

// natSpot is where the monitors of a container scenario watch: in H, on
// the interfaces w says; the interface counters read are the uplink's
// (also when both are watched: its frames are the bytes that left and
// entered the host) or the veth's.
func natSpot(w natWatch) func(e *env) (spot, error) {
	return func(e *env) (spot, error) {
		ne, err := e.natTopology()
		if err != nil {
			return spot{}, err
		}
		n := ne.n
		sp := spot{ns: n.NSH, ifc: n.IfUp, tick: net.JoinHostPort(n.UpR4.String(), strconv.Itoa(portUDP))}
		switch w {
		case natVeth:
			sp.ifc = n.IfCont
			sp.tick = net.JoinHostPort(n.C4.String(), strconv.Itoa(portUDP))
		case natBoth:
			sp.extra = []string{n.IfCont}
		}
		return sp, nil
	}
}

// containerOut: the container uploads to R through the masquerade.
func containerOut(w natWatch) *scenario {
	return &scenario{
		name:  "container-out-" + w.String(),
		title: "Container behind NAT, upload out, watched on " + map[natWatch]string{natUplink: "the uplink", natVeth: "the container's veth", natBoth: "the uplink and the veth"}[w],
		desc: "A client process in the container namespace C sends TCP/IPv4 as fast as it can for 3 s to the server in R; H " +
			"forwards and masquerades it on the uplink (nftables). Both monitors run `-t -C -d 1 -v 2` in H on " + natDevices(w) + ". " +
			"Truth: the frame counters of " + natTruth(w) + ". \"credited to the client\" is the container process's row over " +
			"those bytes; \"all rows\" sums every row: 1 means each byte once.",
		place: onVeth, // not used: spot says
		spot:  natSpot(w),
		view:  "2",
		traffic: func(e *env, s *session) (*traffic, error) {
			start := time.Now()
			g, err := e.gen(e.nat.n.NSC, "send", "tcp", net.JoinHostPort(e.nat.n.UpR4.String(), strconv.Itoa(portDiscard)), strconv.Itoa(1<<40), "0", "3s")
			if err != nil {
				return nil, err
			}
			err = e.wait(g, 30*time.Second)
			return &traffic{clients: []*genProc{g}, secs: time.Since(start).Seconds()}, err
		},
		measure: containerShares,
	}
}

// containerIn: R uploads to H's published port, which leads to the
// container's server.
func containerIn(w natWatch) *scenario {
	return &scenario{
		name:  "container-in-" + w.String(),
		title: "Container behind NAT, upload in to a published port, watched on " + map[natWatch]string{natUplink: "the uplink", natVeth: "the container's veth", natBoth: "the uplink and the veth"}[w],
		desc: "A client process in R sends TCP/IPv4 as fast as it can for 3 s to port 8080 of H's uplink address, which H " +
			"publishes (DNAT) as the discard port of the server in the container namespace C. Both monitors run `-t -C -d 1 -v 2` " +
			"in H on " + natDevices(w) + ". Truth: the frame counters of " + natTruth(w) + ". \"credited to the server\" is the " +
			"container's server process's row over those bytes; \"all rows\" sums every row.",
		place: onVeth,
		spot:  natSpot(w),
		view:  "2",
		traffic: func(e *env, s *session) (*traffic, error) {
			start := time.Now()
			g, err := e.gen(e.nat.n.NSR, "send", "tcp", net.JoinHostPort(e.nat.n.UpH4.String(), "8080"), strconv.Itoa(1<<40), "0", "3s")
			if err != nil {
				return nil, err
			}
			err = e.wait(g, 30*time.Second)
			// The credited process is the container's server.
			return &traffic{clients: []*genProc{e.nat.inner}, secs: time.Since(start).Seconds()}, err
		},
		measure: containerShares,
	}
}

func natDevices(w natWatch) string {
	return map[natWatch]string{natUplink: "the uplink", natVeth: "C's veth", natBoth: "both (the veth and the uplink)"}[w]
}

func natTruth(w natWatch) string {
	if w == natVeth {
		return "C's veth (tx + rx)"
	}
	return "the uplink (tx + rx)"
}

// containerShares: the container process's row and all rows over the
// watched bytes.
func containerShares(r *result, s *session, t *traffic, run int) {
	shareMetrics(r, s, "credited to the container's process / wire bytes", 0.95, pidsNamed(t.pids(), s.e.self))
	r.metric("kernel drops", "", 1, 0, lower).add(float64(s.drops), math.NaN())
	commonMetrics(r, s, run)
}

// containerStorm: the storm's short connections, from the container through
// the masquerade, watched on the uplink: every new flow costs a conntrack
// query and a lookup in the container's namespace.
func containerStorm(rate, workers int, cpuTarget float64) *scenario {
	return &scenario{
		name:  fmt.Sprintf("container-storm-%d", rate),
		title: fmt.Sprintf("Short-connection storm from a container behind NAT, %d connections/s", rate),
		desc: fmt.Sprintf("As the storm above (connect, a 31-byte request, a 1 KiB reply, close; %d a second for 5 s, %d workers), "+
			"but the client process is in the container namespace C and its connections to the server in R are masqueraded by H. "+
			"Both monitors run `-t -C -d 1 -v 2` in H on the uplink: each connection is a new flow of a masqueraded port, found "+
			"through conntrack in C. \"credited/wire\" is the client's row over the uplink's frame bytes (tx + rx). Target: gohogs's "+
			"CPU at most 1.5× its figure for the storm without NAT.", rate, workers),
		place: onVeth,
		spot:  natSpot(natUplink),
		view:  "2",
		traffic: func(e *env, s *session) (*traffic, error) {
			return e.client(e.nat.n.NSC, 30*time.Second, "storm", e.nat.n.UpR4.String(), strconv.Itoa(rate), "5s", strconv.Itoa(workers))
		},
		measure: func(r *result, s *session, t *traffic, run int) {
			vethStormShares(r, s, t)
			atMost(cpuMetric(r, s), cpuTarget)
			rssMetric(r, s)
			refreshMetric(r, s, run)
			r.Notes = append(r.Notes, fmt.Sprintf("run %d: client: %s", run, strings.TrimSpace(t.client().out.String())))
		},
	}
}

// containerScenarios are the container scenarios, in the order they run.
func containerScenarios() []*scenario {
	return []*scenario{
		containerOut(natUplink), containerOut(natVeth), containerOut(natBoth),
		containerIn(natUplink), containerIn(natBoth),
		containerStorm(200, 4, 0.15),
		containerStorm(2000, 8, 0.225),
	}
}
