package main

import (
	"fmt"
	"math"
	"strconv"
	"time"
)

// The rate scenarios: known rates over the veth (steady) and the fastest
// one TCP client manages (bulk).

const steadySecs = 10

// steady: a TCP client over IPv(tcpFam) and a UDP client over IPv(udpFam),
// both at rate bytes of payload per second for steadySecs, at once; each
// reported SENT rate in the refreshes after nethogs's 5 s window has filled
// is compared with the true frame rate of that client.
func steady(rate, tcpFam, udpFam int) *scenario {
	total := rate * steadySecs
	return &scenario{
		name:  fmt.Sprintf("steady-%dMB-tcp%d-udp%d", rate/1_000_000, tcpFam, udpFam),
		title: fmt.Sprintf("Steady %d MB/s: TCP/IPv%d and UDP/IPv%d at once", rate/1_000_000, tcpFam, udpFam),
		desc: fmt.Sprintf("Two client processes in namespace A send %d B/s of payload each for %d s over the veth to a server in B "+
			"(TCP in %d-byte writes; UDP in %d-byte datagrams, a connected socket). Both monitors run `-t -C -d 1 -v 0` on A's veth. "+
			"Truth: UDP frames are exact (payload + 8 + IP header + 14); the TCP client's frames are A's tx bytes minus the UDP frames. "+
			"A refresh counts if it was printed between 6.5 s and 10 s after the start (after nethogs's 5-s averaging window has filled). "+
			"\"rate/truth\" is the median over those refreshes; the notes give the lowest and highest refresh. On a busy machine the "+
			"generator itself stalls now and then and catches up, so single refreshes swing for both tools; the median does not.",
			rate, steadySecs, tcpChunk, udpPayload),
		place: onVeth,
		view:  "0",
		traffic: func(e *env, s *session) (*traffic, error) {
			tcp, err := e.gen(e.p.NSA, "send", "tcp", e.addr(tcpFam, portDiscard), strconv.Itoa(total), strconv.Itoa(rate))
			if err != nil {
				return nil, err
			}
			udp, err := e.gen(e.p.NSA, "send", "udp", e.addr(udpFam, portUDP), strconv.Itoa(total), strconv.Itoa(rate))
			if err != nil {
				return nil, err
			}
			t := &traffic{clients: []*genProc{tcp, udp}}
			return t, e.waitAll(t.clients, 3*steadySecs*time.Second)
		},
		measure: func(r *result, s *session, t *traffic, run int) {
			ipHdr := 20
			if udpFam == 6 {
				ipHdr = 40
			}
			dgrams := (total + udpPayload - 1) / udpPayload
			udpFrames := float64(dgrams*(14+ipHdr+8)) + float64(total)
			d := s.counted()
			truthTCP := (float64(d.TxBytes) - udpFrames) / steadySecs
			truthUDP := float64(rate) * udpFrames / float64(total)
			for _, f := range []struct {
				label string
				pid   int
				truth float64
			}{{fmt.Sprintf("TCP/IPv%d", tcpFam), t.clients[0].pid(), truthTCP}, {fmt.Sprintf("UDP/IPv%d", udpFam), t.clients[1].pid(), truthUDP}} {
				mg, lg, hg := steadyRatio(s.gb, f.pid, f.truth, s.start.At)
				mn, ln, hn := steadyRatio(s.nb, f.pid, f.truth, s.start.At)
				r.metric(f.label+" SENT rate/truth", "", 1, 3, nearOne).add(mg, mn)
				r.Notes = append(r.Notes, fmt.Sprintf("run %d, %s: rate/truth per refresh in the window: gohogs %.3f–%.3f, nethogs %.3f–%.3f",
					run, f.label, lg, hg, ln, hn))
			}
			commonMetrics(r, s, run)
			r.Notes = append(r.Notes, fmt.Sprintf("run %d: truth TCP %.0f B/s, UDP %.0f B/s of frames; A tx %d B in %d frames",
				run, truthTCP, truthUDP, d.TxBytes, d.TxPackets))
		},
	}
}

// steadyRatio: median, lowest and highest reported/true rate over the
// refreshes printed 6.5–10 s after t0 (a missing row reads 0).
func steadyRatio(bs []block, pid int, truth float64, t0 time.Time) (med, lo, hi float64) {
	var v []float64
	for _, b := range bs {
		dt := b.At.Sub(t0).Seconds()
		if dt < 6.5 || dt > steadySecs {
			continue
		}
		x := 0.0
		if rw, ok := rowOf(b, pid); ok {
			x = rw.Sent * 1024 / truth
		}
		v = append(v, x)
	}
	if len(v) == 0 {
		return math.NaN(), math.NaN(), math.NaN()
	}
	lo, hi, _ = spread(v)
	return median(v), lo, hi
}

// bulk: one TCP client as fast as it can for 5 s, offloads off.
func bulk() *scenario {
	return &scenario{
		name:  "bulk-tcp4",
		title: "Bulk TCP at maximum rate over veth, offloads off",
		desc: "One client process in A sends TCP/IPv4 as fast as it can for 5 s (16 KiB writes; tso, gso, gro off on both veth ends, so " +
			"every frame is at most 1514 bytes). Both monitors run `-t -C -d 1 -v 2` on A's veth. Truth: the veth's frame counters " +
			"(tx + rx). \"credited/wire\" is the client's row (SENT+RECV total bytes) over the frame bytes; \"all rows/wire\" sums every " +
			"row, unknown included. Kernel drops are gohogs's PACKET_STATISTICS (-x); nethogs prints none (its loss shows in its totals).",
		place: onVeth,
		view:  "2",
		traffic: func(e *env, s *session) (*traffic, error) {
			start := time.Now()
			g, err := e.gen(e.p.NSA, "send", "tcp", e.addr(4, portDiscard), strconv.Itoa(1<<40), "0", "5s")
			if err != nil {
				return nil, err
			}
			err = e.wait(g, 30*time.Second)
			return &traffic{clients: []*genProc{g}, secs: time.Since(start).Seconds()}, err
		},
		measure: func(r *result, s *session, t *traffic, run int) {
			pkts := s.packets()
			r.metric("frames/s on the veth (same traffic for both)", "kpps", 1e-3, 1, info).add(pkts/t.secs, pkts/t.secs)
			cg, ag, cn, an := shares(s, t.pids())
			r.metric("credited to the client / wire bytes", "", 1, 4, nearOne).add(cg, cn)
			r.metric("all rows / wire bytes", "", 1, 4, nearOne).add(ag, an)
			sg, sn := s.cpuSeconds()
			r.metric("CPU seconds per million frames", "s", 1, 3, lower).add(sg/(pkts/1e6), sn/(pkts/1e6))
			r.metric("kernel drops", "", 1, 0, lower).add(float64(s.drops), math.NaN())
			commonMetrics(r, s, run)
		},
	}
}
