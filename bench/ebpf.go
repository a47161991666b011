package main

import (
	"encoding/json"
	"fmt"
	"math"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"golang.org/x/net/ipv4"

	"github.com/gohogs/gohogs/internal/netnstest"
)

// The eBPF backend's scenarios (issue #16): gohogs with its default backend
// (eBPF), nethogs, and a second gohogs with `--backend afpacket` watch A's
// veth at once, on traffic at the highest rate the generators reach.

func ebpfScenarios() []*scenario {
	return []*scenario{
		ebpfRate("ebpf-bulk-tcp4", "eBPF backend: TCP at full speed",
			"One client process in A sends TCP/IPv4 as fast as it can for 5 s (16 KiB writes, offloads off).", true,
			func(e *env) []string {
				return []string{"send", "tcp", e.addr(4, portDiscard), strconv.Itoa(1 << 40), "0", "5s"}
			}),
		ebpfRate("ebpf-udp64", "eBPF backend: 64-byte UDP flood",
			"One client process in A sends 64-byte UDP/IPv4 datagrams as fast as it can for 5 s from 4 sockets (sendmmsg, 64 a call).", true,
			func(e *env) []string { return []string{"flood", e.addr(4, portUDP), "64", "5s", "4"} }),
		ebpfRate("ebpf-pps", "eBPF backend: 64-byte frames from AF_PACKET TX rings",
			"One client process in A writes 64-byte UDP/IPv4 frames for 5 s into 4 AF_PACKET TX rings on A's veth (PACKET_TX_RING, "+
				"one send(2) per 256 frames, no copy), to a MAC address no host has, so that B drops them on arrival: the highest "+
				"frame rate this machine makes (over a million a second with only the eBPF gohogs attached; nethogs's and the "+
				"afpacket gohogs's packet taps, which clone every frame for their sockets, slow the sender here). The frames "+
				"belong to no socket (a packet socket sent them), so no process is credited and only \"all rows / wire bytes\" "+
				"applies.", false,
			func(e *env) []string {
				return []string{"pktflood", e.p.IfA, e.p.AddrA4.String(), e.p.AddrB4.String(), "5s", "4"}
			}),
		ebpfRest(),
	}
}

// ebpfRate runs the generator args make, with the afpacket gohogs beside
// the two monitors, and measures CPU per frame, credited bytes (to the
// client when owned: its traffic has a socket), drops and the programs'
// own cost (kernel.bpf_stats_enabled, on for the run only).
func ebpfRate(name, title, what string, owned bool, args func(e *env) []string) *scenario {
	var af *monitor
	var afStart, afEnd procSample
	var cStart, cEnd netnstest.Counters
	var prog0, prog1, floor0, floor1 progCost
	var floor *floorProgram
	var restore func()
	return &scenario{
		name:  name,
		title: title,
		desc: what + " Three monitors run `-t -C -d 1 -v 2` on A's veth at once: gohogs with its default backend (eBPF: tcx " +
			"programs count in the kernel), nethogs, and gohogs `--backend afpacket` (its figures in the rows marked afpacket, " +
			"whose ratio column is afpacket/nethogs). CPU per frame is over the generator's run, frames from the veth's counters. " +
			"The programs' cost is run_time_ns / run_cnt of gohogs's tcx programs with kernel.bpf_stats_enabled=1 (set for the run, " +
			"restored after); beside it, the same for a program that returns at once, attached to the same egress: what the " +
			"measurement's own clock reads cost here, included in both figures.",
		once:  true,
		place: onVeth,
		view:  "2",
		traffic: func(e *env, s *session) (*traffic, error) {
			var err error
			af, err = startMonitor(e.ctx, e.cl, "gohogs-afpacket", e.p.NSA, e.gohogs, "-x", "-t", "-C", "-d", "1", "-v", "2", "--backend", "afpacket", e.p.IfA)
			if err != nil {
				return nil, err
			}
			if err := af.waitRefreshes(1, 8*time.Second); err != nil {
				return nil, err
			}
			if floor, err = attachFloor(e.p.NSA, e.p.IfA); err != nil {
				return nil, err
			}
			restore = bpfStatsOn()
			prog0, floor0 = readProgCost(s.g.pid()), floor.cost()
			if cStart, err = netnstest.ReadCounters(e.p.NSA, e.p.IfA); err != nil {
				return nil, err
			}
			if afStart, err = sampleProc(af.pid()); err != nil {
				return nil, err
			}
			s.start.G, _ = sampleProc(s.g.pid())
			s.start.N, _ = sampleProc(s.n.pid())
			s.start.At = time.Now()
			start := time.Now()
			g, err := e.gen(e.p.NSA, args(e)...)
			if err != nil {
				return nil, err
			}
			err = e.wait(g, 30*time.Second)
			secs := time.Since(start).Seconds()
			afEnd, _ = sampleProc(af.pid())
			cEnd, _ = netnstest.ReadCounters(e.p.NSA, e.p.IfA)
			prog1, floor1 = readProgCost(s.g.pid()), floor.cost()
			restore()
			floor.close()
			return &traffic{clients: []*genProc{g}, secs: secs}, err
		},
		measure: func(r *result, s *session, t *traffic, run int) {
			defer af.stop()
			_ = af.waitRefreshes(af.refreshes()+1, 3*time.Second)
			d := cEnd.Sub(cStart)
			frames := float64(d.TxPackets + d.RxPackets)
			r.metric("frames/s on the veth (same traffic for all)", "kpps", 1e-3, 1, info).add(frames/t.secs, frames/t.secs)
			sg, sn := s.cpuSeconds()
			sa := cpuSeconds(afStart, afEnd)
			perM := func(x float64) float64 { return x / (frames / 1e6) }
			r.metric("CPU seconds per million frames", "s", 1, 4, lower).add(perM(sg), perM(sn))
			r.metric("CPU seconds per million frames, afpacket", "s", 1, 4, lower).add(perM(sa), perM(sn))
			cg, ag, cn, an := shares(s, t.pids())
			if owned {
				r.metric("credited to the client / wire bytes", "", 1, 4, nearOne).add(cg, cn)
			}
			r.metric("all rows / wire bytes", "", 1, 4, nearOne).add(ag, an)
			if ab, err := af.blocks(); err == nil {
				ca, aa := creditedShare(s.e, ab, t.pids(), s.wire())
				if owned {
					r.metric("credited to the client / wire bytes, afpacket", "", 1, 4, nearOne).add(ca, cn)
				}
				r.metric("all rows / wire bytes, afpacket", "", 1, 4, nearOne).add(aa, an)
			}
			r.metric("kernel drops", "", 1, 0, lower).add(float64(s.drops), math.NaN())
			r.metric("kernel drops, afpacket", "", 1, 0, lower).add(float64(gohogsDrops(af.stderr.String())), math.NaN())
			if runs := prog1.runs - prog0.runs; runs > 0 {
				r.metric("eBPF program ns per run (bpf_stats)", "ns", 1, 1, lower).add(float64(prog1.ns-prog0.ns)/float64(runs), math.NaN())
				r.Notes = append(r.Notes, fmt.Sprintf("run %d: %d program runs for %.0f frames", run, runs, frames))
			}
			if runs := floor1.runs - floor0.runs; runs > 0 {
				r.metric("bpf_stats floor: ns per run of a program that returns at once", "ns", 1, 1, info).add(float64(floor1.ns-floor0.ns)/float64(runs), math.NaN())
			}
			rssMetric(r, s)
			ha, _ := sampleProc(af.pid())
			r.metric("peak RSS (VmHWM), afpacket", "MiB", 1.0/1024, 1, lower).add(float64(ha.HWMKiB), float64(s.end.N.HWMKiB))
			r.Notes = append(r.Notes, "client: "+strings.TrimSpace(t.client().out.String()))
		},
	}
}

// ebpfRest: nothing sent; the three monitors' CPU after start-up, and peak
// RSS.
func ebpfRest() *scenario {
	const warm, window = 10 * time.Second, 20 * time.Second
	var af *monitor
	var afStart, afEnd, gEnd, nEnd procSample
	return &scenario{
		name:  "ebpf-rest",
		title: "eBPF backend: at rest",
		desc: fmt.Sprintf("Nothing is sent. gohogs (eBPF), nethogs and gohogs `--backend afpacket` run `-t -C -d 1 -v 2` on A's veth; "+
			"their CPU is over %v that begin %v after they started (start-up left out), peak RSS (VmHWM) at the end, and what "+
			"is resident at the window's end: anonymous pages (heap, stacks, maps) and file pages (the binary's and libc's, "+
			"mapped as start-up touched them). The "+
			"machine is not idle: gohogs hears of every process and connection on it (other jobs' too) and looks some up.",
			window, warm),
		once:  true,
		place: onVeth,
		view:  "2",
		traffic: func(e *env, s *session) (*traffic, error) {
			var err error
			af, err = startMonitor(e.ctx, e.cl, "gohogs-afpacket", e.p.NSA, e.gohogs, "-t", "-C", "-d", "1", "-v", "2", "--backend", "afpacket", e.p.IfA)
			if err != nil {
				return nil, err
			}
			if err := e.sleep(warm); err != nil {
				return nil, err
			}
			s.start.G, _ = sampleProc(s.g.pid())
			s.start.N, _ = sampleProc(s.n.pid())
			afStart, _ = sampleProc(af.pid())
			s.start.At = time.Now()
			err = e.sleep(window)
			afEnd, _ = sampleProc(af.pid())
			gEnd, _ = sampleProc(s.g.pid())
			nEnd, _ = sampleProc(s.n.pid())
			return &traffic{secs: window.Seconds()}, err
		},
		measure: func(r *result, s *session, t *traffic, run int) {
			defer af.stop()
			rssMetric(r, s)
			ha, _ := sampleProc(af.pid())
			r.metric("peak RSS (VmHWM), afpacket", "MiB", 1.0/1024, 1, lower).add(float64(ha.HWMKiB), float64(s.end.N.HWMKiB))
			// What the resident pages are at the window's end: the
			// process's own (anonymous) and the files' (the binary, libc).
			r.metric("RSS at the end, anonymous (RssAnon)", "MiB", 1.0/1024, 1, lower).add(float64(gEnd.AnonKiB), float64(nEnd.AnonKiB))
			r.metric("RSS at the end, file pages (RssFile)", "MiB", 1.0/1024, 1, lower).add(float64(gEnd.FileKiB), float64(nEnd.FileKiB))
			cpuMetric(r, s)
			_, nc := s.cpuShare()
			r.metric("CPU, share of one core, afpacket", "", 1, 3, lower).add(cpuShare(afStart, afEnd), nc)
		},
	}
}

// progCost is the summed run time and run count of a process's eBPF
// programs.
type progCost struct{ ns, runs uint64 }

// readProgCost asks bpftool for the programs that pid holds.
func readProgCost(pid int) progCost {
	out, err := exec.Command("bpftool", "-j", "prog", "show").Output()
	if err != nil {
		return progCost{}
	}
	var progs []struct {
		Name    string `json:"name"`
		RunTime uint64 `json:"run_time_ns"`
		RunCnt  uint64 `json:"run_cnt"`
		Pids    []struct {
			Pid int `json:"pid"`
		} `json:"pids"`
	}
	if json.Unmarshal(out, &progs) != nil {
		return progCost{}
	}
	// bpftool built without its pid iterator lists no pids: then every
	// gohogs program counts (the suite runs one eBPF gohogs at a time).
	var c progCost
	for _, p := range progs {
		mine := len(p.Pids) == 0
		for _, o := range p.Pids {
			mine = mine || o.Pid == pid
		}
		if mine && (p.Name == "gohogs_ingress" || p.Name == "gohogs_egress") {
			c.ns += p.RunTime
			c.runs += p.RunCnt
		}
	}
	return c
}

// bpfStatsOn sets kernel.bpf_stats_enabled to 1 and returns what restores
// the value it had.
func bpfStatsOn() func() {
	const path = "/proc/sys/kernel/bpf_stats_enabled"
	old, err := os.ReadFile(path)
	if err != nil || os.WriteFile(path, []byte("1"), 0o644) != nil {
		return func() {}
	}
	return func() { _ = os.WriteFile(path, []byte(strings.TrimSpace(string(old))), 0o644) }
}

// genFlood: ADDR SIZE DURATION SOCKETS. SOCKETS goroutines each send
// SIZE-byte UDP datagrams to ADDR as fast as they can for DURATION, 64 a
// sendmmsg call. Prints "datagrams N".
func genFlood(a []string) error {
	if len(a) != 4 {
		return fmt.Errorf("want ADDR SIZE DURATION SOCKETS, got %q", a)
	}
	size, socks := atoi(a[1]), atoi(a[3])
	dur, err := time.ParseDuration(a[2])
	if err != nil || size <= 0 || socks <= 0 {
		return fmt.Errorf("bad flood arguments %q", a)
	}
	end := time.Now().Add(dur)
	counts := make(chan int, socks)
	for range socks {
		c, err := net.Dial("udp", a[0])
		if err != nil {
			return fmt.Errorf("dial: %w", err)
		}
		go func() {
			defer c.Close()
			pc := ipv4.NewPacketConn(c.(*net.UDPConn))
			msgs := make([]ipv4.Message, 64)
			for i := range msgs {
				msgs[i].Buffers = [][]byte{make([]byte, size)}
			}
			n := 0
			for i := 0; ; i++ {
				if i%16 == 0 && time.Now().After(end) {
					break
				}
				k, err := pc.WriteBatch(msgs, 0)
				if err != nil {
					continue // ECONNREFUSED from an ICMP, ENOBUFS: keep going
				}
				n += k
			}
			counts <- n
		}()
	}
	total := 0
	for range socks {
		total += <-counts
	}
	fmt.Printf("datagrams %d\n", total)
	return nil
}
