package trace

import (
	"maps"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/gohogs/gohogs/capture"
)

// TestCountsLikePackets: the same traffic (mixedTraffic: TCP, UDP, ICMP
// echoes and errors, raw IP, frames that are not IP, fragments, local to
// local, a NAT'd container's two copies, bridged containers' copies on two
// interfaces, forwarded ends found, counted elsewhere, beyond a NAT, in no
// namespace or one not reachable, lookups answered late) handed over packet
// by packet, and as the ebpf backend hands it over (a tuple's first packet,
// then counts at each cut, in batches): at every refresh the two
// Accountants' rows (bytes, totals, connections), unknown connections,
// accounting (every bucket) and counters are the same.
func TestCountsLikePackets(t *testing.T) {
	bubble(t, func(t *testing.T) {
		kinds := mixedTraffic()
		for _, c := range mixedConfigs() {
			start := time.Now()
			byPacket, byCount := newMixed(c.cfg, start), newMixed(c.cfg, start)
			defer byPacket.Close()
			defer byCount.Close()
			k := newKernel(byCount)
			rng := rand.New(rand.NewPCG(3, 4))
			for i := 1; i <= 30; i++ {
				cut := start.Add(time.Duration(i) * 200 * time.Millisecond)
				ps := mixedInterval(rng, kinds, cut)
				for _, p := range ps {
					byPacket.Packet(p)
				}
				k.interval(ps, cut)
				time.Sleep(time.Until(cut))
				synctest.Wait()
				sp, sc := byPacket.Refresh(cut), byCount.Refresh(cut)
				if !reflect.DeepEqual(rowMap(sp), rowMap(sc)) {
					t.Fatalf("-C %v -P %v refresh %d: rows differ:\npackets %+v\ncounts  %+v", c.cfg.UDP, c.cfg.PIDs, i, rowMap(sp), rowMap(sc))
				}
				if sp.Accounting != sc.Accounting || !slices.Equal(sp.UnknownConns, sc.UnknownConns) {
					t.Fatalf("-C %v -P %v refresh %d: accounting or unknown connections differ:\npackets %+v %v\ncounts  %+v %v",
						c.cfg.UDP, c.cfg.PIDs, i, sp.Accounting, sp.UnknownConns, sc.Accounting, sc.UnknownConns)
				}
			}
			k.collect(start.Add(31 * 200 * time.Millisecond)) // what the kernel still held
			stp, stc := byPacket.Stats(), byCount.Stats()
			stp.Resolved, stp.Failed, stc.Resolved, stc.Failed = 0, 0, 0, 0 // retried at other times
			if stp != stc {
				t.Errorf("-C %v -P %v: stats differ:\npackets %+v\ncounts  %+v", c.cfg.UDP, c.cfg.PIDs, stp, stc)
			}
			rows := rowMap(byCount.Refresh(start.Add(31 * 200 * time.Millisecond)))
			var credited []string
			for k, r := range rows {
				if r.TotalSent|r.TotalRecv != 0 {
					credited = append(credited, k.name)
				}
			}
			slices.Sort(credited)
			t.Logf("-C %v -P %v: rows with bytes %v; stats %+v", c.cfg.UDP, c.cfg.PIDs, credited, stc)
			if c.cfg.UDP && len(c.cfg.PIDs) == 0 {
				for _, name := range []string{client.Name, server.Name, ping.Name, rawProc.Name, inCont.Name, web.Name, other.Name,
					"unknown TCP", "unknown UDP", "unknown ICMP", "unknown IP"} {
					if !slices.Contains(credited, name) {
						t.Errorf("no bytes on the row of %s", name)
					}
				}
			}
		}
	})
}

type rowKey struct {
	kind Kind
	name string
	pid  int
}

// rowMap is a snapshot's rows by kind, name and pid.
func rowMap(s *Snapshot) map[rowKey]Row {
	m := make(map[rowKey]Row, len(s.Rows))
	for _, r := range s.Rows {
		m[rowKey{r.Kind, r.Name, r.PID}] = r
	}
	return m
}

// TestCountsOverflow: a bulk count credits what its packets would have, one
// by one, to the flow its first packet made (both directions to curl's
// row), and an overflow bucket (no addresses) to the unknown row of its
// protocol on its side, in the overflow bucket: without -C only TCP's,
// the others not accounted.
func TestCountsOverflow(t *testing.T) {
	for _, udp := range []bool{true, false} {
		bubble(t, func(t *testing.T) {
			a := curlSent(t, Config{UDP: udp}, 100) // the first packet, handed up
			defer a.Close()
			cut := t0.Add(time.Second)
			sent := tcpFlow(hostA, hostB, 40000, 80, 9000)
			sent.Timestamp = cut
			recv := tcpFlow(hostB, hostA, 80, 40000, 600)
			recv.Timestamp = cut
			over := func(proto capture.Proto, typ capture.PacketType, n int, packets uint64) capture.FlowCount {
				return capture.FlowCount{Packet: capture.Packet{Timestamp: cut, Length: n, Proto: proto, Type: typ},
					Packets: packets, Overflow: true}
			}
			a.Counts([]capture.FlowCount{
				{Packet: *sent, Packets: 6},
				{Packet: *recv, Packets: 10},
				over(capture.ProtoTCP, capture.PacketOutgoing, 640, 10),
				over(capture.ProtoUDP, capture.PacketHost, 320, 5),
				over(capture.ProtoICMP, capture.PacketOutgoing, 980, 10),
				over(0, capture.PacketHost, 50, 1),
			})
			s := a.Refresh(cut)
			rows := rowsByName(s)
			if r := rows["/usr/bin/curl"]; r.Sent != 9100 || r.Recv != 600 {
				t.Errorf("curl: sent %d recv %d, want 9100 and 600", r.Sent, r.Recv)
			}
			if r := rows["unknown TCP"]; r.Sent != 640 || r.Recv != 0 {
				t.Errorf("unknown TCP: sent %d recv %d, want the overflow's 640 sent", r.Sent, r.Recv)
			}
			want := Accounting{Captured: 100 + 9600 + 640 + 320 + 980 + 50, Credited: 9700}
			wantRows := map[string][2]uint64{}
			wantIgnored, wantUnknown := uint64(0), uint64(640)
			if udp {
				want.Buckets[ReasonOverflow] = 640 + 320 + 980 + 50
				wantRows = map[string][2]uint64{"unknown UDP": {0, 320}, "unknown ICMP": {980, 0}, "unknown IP": {0, 50}}
				wantUnknown += 320 + 980 + 50
			} else {
				want.Buckets[ReasonOverflow] = 640
				want.Buckets[ReasonNotAccounted] = 320 + 980 + 50
				wantIgnored = 16
			}
			for name, w := range wantRows {
				if r := rows[name]; [2]uint64{r.Sent, r.Recv} != w {
					t.Errorf("-C %v: %s: %+v, want sent and received %v", udp, name, r, w)
				}
			}
			if names := slices.Sorted(maps.Keys(rows)); len(names) != 2+len(wantRows) {
				t.Errorf("-C %v: rows %v", udp, names)
			}
			if s.Accounting != want {
				t.Errorf("-C %v: accounting %+v, want %+v", udp, s.Accounting, want)
			}
			st := a.Stats()
			if st.Ignored != wantIgnored || st.UnknownBytes != wantUnknown || st.Packets != 1+6+10+(26-wantIgnored) {
				t.Errorf("-C %v: stats %+v", udp, st)
			}
		})
	}
}

// TestCountsNoAllocations: a batch of counts of known flows (TCP, ICMP,
// forwarded, copies on a second interface) allocates nothing.
func TestCountsNoAllocations(t *testing.T) {
	bubble(t, func(t *testing.T) {
		a := newMixed(Config{UDP: true}, t0)
		defer a.Close()
		kinds := mixedTraffic()
		cs := make([]capture.FlowCount, len(kinds))
		for i, kind := range kinds {
			p := kind()
			a.Packet(p)
			cs[i] = capture.FlowCount{Packet: *p, Packets: 3}
		}
		time.Sleep(3 * time.Second) // every lookup answered, retries included
		synctest.Wait()
		a.Counts(cs)
		if n := testing.AllocsPerRun(100, func() { a.Counts(cs) }); n != 0 {
			t.Errorf("Counts of known flows: %v allocations, want 0", n)
		}
	})
}

// BenchmarkCountsKnownFlows: one batch of 256 counts of known TCP flows,
// as Collect hands them over; per count.
func BenchmarkCountsKnownFlows(b *testing.B) {
	a := newAccountant(Config{})
	defer a.Close()
	cs := make([]capture.FlowCount, 256)
	for i := range cs {
		p := tcpFlow(hostA, hostB, uint16(40000+i), 80, 1500)
		a.Packet(p)
		cs[i] = capture.FlowCount{Packet: *p, Packets: 10}
	}
	a.Counts(cs)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		a.Counts(cs)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(cs)), "ns/count")
}
