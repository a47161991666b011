package metrics

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/gohogs/gohogs"
	"github.com/gohogs/gohogs/capture"
	"github.com/gohogs/gohogs/procmap"
	"github.com/gohogs/gohogs/trace"
)

func names(uid uint32) string { return map[uint32]string{0: "root", 1000: "alice"}[uid] }

func snap(t0 time.Time, k int, rows ...trace.Row) *trace.Snapshot {
	return &trace.Snapshot{Time: t0.Add(time.Duration(k) * time.Second), Seq: k + 1, Elapsed: time.Second, Rows: rows}
}

// TestCountersAddIntervals: the counters are the sums of the interval bytes
// per label set, whatever the rows' totals say (a forgotten process, a
// reused pid), and never decrease.
func TestCountersAddIntervals(t *testing.T) {
	e := New(Options{UserName: names})
	t0 := time.Now()
	e.Observe(snap(t0, 0,
		trace.Row{Kind: trace.KindProcess, Name: "nc", PID: 5, StartTime: 10, UID: 1000, Sent: 100, Recv: 7, TotalSent: 100, TotalRecv: 7},
		trace.Row{Kind: trace.KindProcess, Name: "nc", PID: 6, StartTime: 11, UID: 1000, Sent: 50, TotalSent: 50},
		trace.Row{Kind: trace.KindProcess, Name: "nc", PID: 8, UID: 0, Sent: 1, TotalSent: 1},
		trace.Row{Kind: trace.KindSocket, Name: "10.0.0.1:5-10.0.0.2:6", UID: 1000, Recv: 9, TotalRecv: 9},
		trace.Row{Kind: trace.KindUnknownUDP, Name: "unknown UDP", Recv: 3, TotalRecv: 3},
		trace.Row{Kind: trace.KindProcess, Name: "idle", PID: 9, UID: 0},
	))
	// pid 5 forgotten; pid 6 reused by a new nc with a lower total.
	e.Observe(snap(t0, 1,
		trace.Row{Kind: trace.KindProcess, Name: "nc", PID: 6, StartTime: 99, UID: 1000, Sent: 20, TotalSent: 20},
	))
	want := `
# HELP gohogs_process_sent_bytes_total Bytes sent (whole frames, link header included), per program and user.
# TYPE gohogs_process_sent_bytes_total counter
gohogs_process_sent_bytes_total{program="nc",user="alice"} 170
gohogs_process_sent_bytes_total{program="nc",user="root"} 1
gohogs_process_sent_bytes_total{program="unknown UDP",user=""} 0
gohogs_process_sent_bytes_total{program="unknown socket",user="alice"} 0
# HELP gohogs_process_received_bytes_total Bytes received (whole frames, link header included), per program and user.
# TYPE gohogs_process_received_bytes_total counter
gohogs_process_received_bytes_total{program="nc",user="alice"} 7
gohogs_process_received_bytes_total{program="nc",user="root"} 0
gohogs_process_received_bytes_total{program="unknown UDP",user=""} 3
gohogs_process_received_bytes_total{program="unknown socket",user="alice"} 9
# HELP gohogs_refreshes_total Refreshes taken.
# TYPE gohogs_refreshes_total counter
gohogs_refreshes_total 2
`
	if err := testutil.CollectAndCompare(e, strings.NewReader(want),
		"gohogs_process_sent_bytes_total", "gohogs_process_received_bytes_total", "gohogs_refreshes_total"); err != nil {
		t.Error(err)
	}
}

// TestPIDLabel: with PIDLabel each process is a series, and a series whose
// process has not been listed for PIDExpiry is dropped.
func TestPIDLabel(t *testing.T) {
	e := New(Options{PIDLabel: true, PIDExpiry: 90 * time.Second, UserName: names})
	t0 := time.Now()
	e.Observe(snap(t0, 0,
		trace.Row{Kind: trace.KindProcess, Name: "nc", PID: 5, UID: 1000, Sent: 100, TotalSent: 100},
		trace.Row{Kind: trace.KindProcess, Name: "nc", PID: 6, UID: 1000, Sent: 50, TotalSent: 50},
		trace.Row{Kind: trace.KindUnknownTCP, Name: "unknown TCP", Sent: 4, TotalSent: 4},
	))
	e.Observe(snap(t0, 60, trace.Row{Kind: trace.KindProcess, Name: "nc", PID: 6, UID: 1000, Sent: 1, TotalSent: 51}))
	want := func(s string) string {
		return `
# HELP gohogs_process_sent_bytes_total Bytes sent (whole frames, link header included), per program and user.
# TYPE gohogs_process_sent_bytes_total counter
` + s
	}
	if err := testutil.CollectAndCompare(e, strings.NewReader(want(`gohogs_process_sent_bytes_total{pid="0",program="unknown TCP",user=""} 4
gohogs_process_sent_bytes_total{pid="5",program="nc",user="alice"} 100
gohogs_process_sent_bytes_total{pid="6",program="nc",user="alice"} 51
`)), "gohogs_process_sent_bytes_total"); err != nil {
		t.Error(err)
	}
	e.Observe(snap(t0, 120, trace.Row{Kind: trace.KindProcess, Name: "nc", PID: 6, UID: 1000, TotalSent: 51}))
	// pid 5 last listed at 0 s, 120 s ago: gone. The unknown row (pid 0) stays.
	if err := testutil.CollectAndCompare(e, strings.NewReader(want(`gohogs_process_sent_bytes_total{pid="0",program="unknown TCP",user=""} 4
gohogs_process_sent_bytes_total{pid="6",program="nc",user="alice"} 51
`)), "gohogs_process_sent_bytes_total"); err != nil {
		t.Error(err)
	}
}

// TestHealth: the health metrics come from Stats at scrape time; an
// interface listed twice is one series.
func TestHealth(t *testing.T) {
	st := gohogs.Stats{
		Accounting: trace.Stats{Packets: 10, Bytes: 1000, Ignored: 2, Flows: 3, Processes: 4, Resolved: 5, Failed: 6, Dropped: 7, UnknownBytes: 8},
		Capture: []capture.Stats{
			{Interface: "eth0", Packets: 4, Bytes: 400, Malformed: 1, KernelDrops: 2},
			{Interface: "eth0", Packets: 6, Bytes: 600, KernelDrops: 3},
			{Interface: "lo", Packets: 1, Bytes: 60},
		},
		Resolver: procmap.Stats{Lookups: 11, Misses: 12, NoProcess: 13, NetlinkErrors: 14},
	}
	e := New(Options{Stats: func() gohogs.Stats { return st }})
	want := `
# HELP gohogs_capture_kernel_drops_total Packets the kernel dropped because the capture ring was full.
# TYPE gohogs_capture_kernel_drops_total counter
gohogs_capture_kernel_drops_total{interface="eth0"} 5
gohogs_capture_kernel_drops_total{interface="lo"} 0
# HELP gohogs_capture_packets_total Packets captured.
# TYPE gohogs_capture_packets_total counter
gohogs_capture_packets_total{interface="eth0"} 10
gohogs_capture_packets_total{interface="lo"} 1
# HELP gohogs_packets_total Packets accounted.
# TYPE gohogs_packets_total counter
gohogs_packets_total 10
# HELP gohogs_unknown_bytes_total Bytes credited to the unknown rows (no owner found).
# TYPE gohogs_unknown_bytes_total counter
gohogs_unknown_bytes_total 8
# HELP gohogs_resolver_misses_total Socket owner lookups that found no socket.
# TYPE gohogs_resolver_misses_total counter
gohogs_resolver_misses_total 12
# HELP gohogs_flows Flows in the table.
# TYPE gohogs_flows gauge
gohogs_flows 3
`
	if err := testutil.CollectAndCompare(e, strings.NewReader(want),
		"gohogs_capture_kernel_drops_total", "gohogs_capture_packets_total", "gohogs_packets_total",
		"gohogs_unknown_bytes_total", "gohogs_resolver_misses_total", "gohogs_flows"); err != nil {
		t.Error(err)
	}
	if n := testutil.CollectAndCount(e); n != 30 {
		t.Errorf("%d metrics, want 30 (refreshes, 8 reasons, 9 accounting, 4 resolver, 4×2 capture)", n)
	}
	reg, err := e.Registry(false)
	if err != nil {
		t.Fatal(err)
	}
	probs, err := testutil.GatherAndLint(reg)
	if err != nil || len(probs) > 0 {
		t.Errorf("lint: %v %v", err, probs)
	}
}

// TestHandler: the handler serves the text format with the exporter's and
// the runtime's metrics, from a registry of its own (two exporters coexist).
func TestHandler(t *testing.T) {
	for i := range 2 {
		e := New(Options{UserName: names})
		e.Observe(snap(time.Now(), 0, trace.Row{Kind: trace.KindProcess, Name: "nc", PID: 5, Sent: uint64(1234 + i), TotalSent: uint64(1234 + i)}))
		h, err := e.Handler()
		if err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(h)
		resp, err := http.Get(srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		srv.Close()
		for _, w := range []string{
			`gohogs_process_sent_bytes_total{program="nc",user="root"} ` + []string{"1234", "1235"}[i],
			"go_goroutines ", "process_cpu_seconds_total ", "gohogs_refreshes_total 1",
		} {
			if !strings.Contains(string(body), w) {
				t.Errorf("exporter %d: no %q in\n%s", i, w, body)
			}
		}
	}
}

// TestLookupUser: the default lookup (internal/username, tested there)
// names uid 0 root in any user database.
func TestLookupUser(t *testing.T) {
	if n := LookupUser(0); n != "root" {
		t.Errorf("LookupUser(0) = %q", n)
	}
}

// TestConcurrentObserveCollect: refreshes and scrapes at once (run with
// -race); the final counters are the sums of what was observed.
func TestConcurrentObserveCollect(t *testing.T) {
	e := New(Options{UserName: names, Stats: func() gohogs.Stats { return gohogs.Stats{} }})
	t0 := time.Now()
	done := make(chan struct{})
	go func() {
		defer close(done)
		for k := range 500 {
			e.Observe(snap(t0, k, trace.Row{Kind: trace.KindProcess, Name: "nc", PID: k % 7, UID: 1000, Sent: 3, Recv: 1}))
		}
	}()
	for range 50 {
		testutil.CollectAndCount(e)
	}
	<-done
	if v := testutil.ToFloat64(collectorFor(e, "gohogs_process_sent_bytes_total")); v != 1500 {
		t.Errorf("sent %v, want 1500", v)
	}
}

// collectorFor narrows e to one metric family, for testutil.ToFloat64.
func collectorFor(e *Exporter, name string) prometheus.Collector {
	return prometheus.CollectorFunc(func(ch chan<- prometheus.Metric) {
		all := make(chan prometheus.Metric, 64)
		go func() { e.Collect(all); close(all) }()
		for m := range all {
			if strings.Contains(m.Desc().String(), `"`+name+`"`) {
				ch <- m
			}
		}
	})
}

func rows(n int) []trace.Row {
	rs := make([]trace.Row, n)
	for i := range rs {
		rs[i] = trace.Row{Kind: trace.KindProcess, Name: "/usr/bin/prog" + strconv.Itoa(i%50), PID: 1000 + i, UID: uint32(i % 3), Sent: 1500, Recv: 9000}
	}
	return rs
}

// BenchmarkObserve: one refresh of 500 processes (50 programs, 3 users).
func BenchmarkObserve(b *testing.B) {
	e := New(Options{UserName: func(uid uint32) string { return strconv.Itoa(int(uid)) }})
	s := snap(time.Now(), 0, rows(500)...)
	b.ReportAllocs()
	for b.Loop() {
		e.Observe(s)
	}
}

// BenchmarkScrape: a full scrape through the handler's registry with 150
// series and the health metrics.
func BenchmarkScrape(b *testing.B) {
	e := New(Options{UserName: func(uid uint32) string { return strconv.Itoa(int(uid)) }, Stats: func() gohogs.Stats {
		return gohogs.Stats{Capture: []capture.Stats{{Interface: "eth0"}}}
	}})
	e.Observe(snap(time.Now(), 0, rows(500)...))
	reg, err := e.Registry(false)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := reg.Gather(); err != nil {
			b.Fatal(err)
		}
	}
}

// TestInvalidUTF8: a program name or user name that is not UTF-8 (argv[0]
// is arbitrary bytes) is exported with U+FFFD in place of the bad bytes,
// never a panic or a failed scrape.
func TestInvalidUTF8(t *testing.T) {
	e := New(Options{UserName: func(uint32) string { return "us\xffer" }})
	e.Observe(snap(time.Now(), 0, trace.Row{Kind: trace.KindProcess, Name: "/tmp/a\xfe\xffb", PID: 3, Sent: 5, TotalSent: 5}))
	want := `
# HELP gohogs_process_sent_bytes_total Bytes sent (whole frames, link header included), per program and user.
# TYPE gohogs_process_sent_bytes_total counter
gohogs_process_sent_bytes_total{program="/tmp/a` + "\uFFFD" + `b",user="us` + "\uFFFD" + `er"} 5
`
	if err := testutil.CollectAndCompare(e, strings.NewReader(want), "gohogs_process_sent_bytes_total"); err != nil {
		t.Error(err)
	}
}

// TestUnaccountedByReason: the bytes on no process row are counted per
// reason, summed over the refreshes observed; the unknown ICMP and IP rows
// are programs of their own, without a user.
func TestUnaccountedByReason(t *testing.T) {
	e := New(Options{UserName: names})
	t0 := time.Now()
	for k := range 2 {
		s := snap(t0, k, trace.Row{Kind: trace.KindUnknownICMP, Name: "unknown ICMP", Sent: 98, TotalSent: 98 * uint64(k+1)},
			trace.Row{Kind: trace.KindUnknownIP, Name: "unknown IP", Recv: 1000, TotalRecv: 1000 * uint64(k+1)})
		s.Accounting.Buckets[trace.ReasonNoSocket] = 1098
		s.Accounting.Buckets[trace.ReasonNotIP] = 60
		s.Accounting.Buckets[trace.ReasonForwarded] = uint64(k)
		e.Observe(s)
	}
	want := `
# HELP gohogs_unaccounted_bytes_total Bytes captured that are on no process row (whole frames), by reason: no_socket, no_process, forwarded, netns_unreachable, not_ip, not_accounted, filtered, overflow.
# TYPE gohogs_unaccounted_bytes_total counter
gohogs_unaccounted_bytes_total{reason="filtered"} 0
gohogs_unaccounted_bytes_total{reason="forwarded"} 1
gohogs_unaccounted_bytes_total{reason="netns_unreachable"} 0
gohogs_unaccounted_bytes_total{reason="no_process"} 0
gohogs_unaccounted_bytes_total{reason="no_socket"} 2196
gohogs_unaccounted_bytes_total{reason="not_accounted"} 0
gohogs_unaccounted_bytes_total{reason="not_ip"} 120
gohogs_unaccounted_bytes_total{reason="overflow"} 0
# HELP gohogs_process_sent_bytes_total Bytes sent (whole frames, link header included), per program and user.
# TYPE gohogs_process_sent_bytes_total counter
gohogs_process_sent_bytes_total{program="unknown ICMP",user=""} 196
gohogs_process_sent_bytes_total{program="unknown IP",user=""} 0
`
	if err := testutil.CollectAndCompare(e, strings.NewReader(want), "gohogs_unaccounted_bytes_total", "gohogs_process_sent_bytes_total"); err != nil {
		t.Error(err)
	}
}
