package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"math"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/gohogs/gohogs/capture"
	"github.com/gohogs/gohogs/internal/netnstest"
	"github.com/gohogs/gohogs/procmap"
	"github.com/gohogs/gohogs/trace"
)

const testID = "9a826d2c6ac699a5619fbc83cd0f3e21c405523829ac96af302ce2df1a701a08"

// parseJSONLines decodes gohogs --json output strictly: every line one
// object with exactly the documented fields, timestamps RFC 3339, seq
// counting from 1, intervals positive after the first.
func parseJSONLines(t *testing.T, out string) []jsonRefresh {
	t.Helper()
	var refs []jsonRefresh
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		line := sc.Bytes()
		if !json.Valid(line) {
			t.Fatalf("line %d is not valid JSON: %q", len(refs)+1, line)
		}
		dec := json.NewDecoder(bytes.NewReader(line))
		dec.DisallowUnknownFields()
		var r jsonRefresh
		if err := dec.Decode(&r); err != nil {
			t.Fatalf("line %d: %v: %q", len(refs)+1, err, line)
		}
		if _, err := time.Parse(time.RFC3339Nano, r.Timestamp); err != nil {
			t.Errorf("line %d: timestamp %q: %v", len(refs)+1, r.Timestamp, err)
		}
		if r.Seq != len(refs)+1 || (r.Seq > 1 && r.Interval <= 0) || r.Rows == nil || r.UnknownConnections == nil {
			t.Errorf("line %d: seq %d interval %v rows %v unknown %v", len(refs)+1, r.Seq, r.Interval, r.Rows, r.UnknownConnections)
		}
		refs = append(refs, r)
	}
	if len(refs) == 0 {
		t.Fatalf("no JSON line in %q", out)
	}
	return refs
}

// jsonTotals sums pid's interval bytes over the refreshes, checks that the
// sums equal the last row's totals, and returns the last row.
func jsonTotals(t *testing.T, refs []jsonRefresh, pid int) (last jsonRow, n int) {
	t.Helper()
	var sent, recv uint64
	for _, r := range refs {
		for _, row := range r.Rows {
			if row.PID == pid && row.Kind == "process" {
				sent += row.Sent
				recv += row.Recv
				last = row
				n++
				var cs, cr uint64
				for _, c := range row.Connections {
					cs += c.Sent
					cr += c.Recv
					if _, err := netip.ParseAddrPort(c.Local); err != nil {
						t.Errorf("connection local %q: %v", c.Local, err)
					}
					if _, err := netip.ParseAddrPort(c.Remote); err != nil {
						t.Errorf("connection remote %q: %v", c.Remote, err)
					}
				}
				if cs != row.Sent || cr != row.Recv {
					t.Errorf("refresh %d: connections carry %d/%d, the row %d/%d", r.Seq, cs, cr, row.Sent, row.Recv)
				}
			}
		}
	}
	if n == 0 {
		t.Fatalf("pid %d in no JSON refresh", pid)
	}
	if sent != last.TotalSent || recv != last.TotalRecv {
		t.Errorf("pid %d: intervals sum to %d/%d, totals %d/%d", pid, sent, recv, last.TotalSent, last.TotalRecv)
	}
	return last, n
}

// TestJSONVethTotals: --json over known traffic (TCP IPv4, UDP IPv6): every
// line is valid JSON; the generator's row has its pid, uid, name, command
// line and start time, its connection to the sink, and totals equal to the
// frame bytes the kernel counted within 1%.
func TestJSONVethTotals(t *testing.T) {
	netnstest.Skip(t)
	for _, c := range []struct{ proto, fam string }{{"tcp", "4"}, {"udp", "6"}} {
		t.Run(c.proto+c.fam, func(t *testing.T) {
			t.Parallel()
			p, s := pairWithSink(t, c.proto, c.fam)
			run := startGohogs(t, p.NSA, "--json", "-C", "-d", "0.5", "--duration", "4s", p.IfA)
			run.waitStdout(t, "\n") // the first refresh
			const payload = 2_000_000
			var gen *exec.Cmd
			before, after := counted(t, p.NSA, p.IfA, func() { gen = runTraffic(t, p.NSA, c.proto, s.addr, payload, 2_000_000) })
			out := run.wait(t, 15*time.Second)
			refs := parseJSONLines(t, out)
			row, n := jsonTotals(t, refs, gen.Process.Pid)
			tx, rx := after.TxBytes-before.TxBytes, after.RxBytes-before.RxBytes
			t.Logf("%d lines; generator in %d: total_sent %d total_recv %d; interface tx %d rx %d", len(refs), n, row.TotalSent, row.TotalRecv, tx, rx)
			if !within(float64(row.TotalSent), float64(tx), 0.01) {
				t.Errorf("total_sent %d, interface tx %d (±1%%)", row.TotalSent, tx)
			}
			if c.proto == "tcp" && !within(float64(row.TotalRecv), float64(rx), 0.01) {
				t.Errorf("total_recv %d, interface rx %d (±1%%)", row.TotalRecv, rx)
			}
			self, _ := os.Executable()
			if row.Name != self || row.UID != 0 || row.StartTime == 0 || len(row.Cmdline) == 0 || row.Cmdline[0] != self {
				t.Errorf("identity: %+v", row)
			}
			found := false
			for _, r := range refs {
				for _, x := range r.Rows {
					for _, cn := range x.Connections {
						if x.PID == gen.Process.Pid && cn.Proto == c.proto && cn.Remote == s.addr {
							found = true
						}
					}
				}
			}
			if !found {
				t.Errorf("no %s connection to %s on the generator's rows", c.proto, s.addr)
			}
		})
	}
}

// TestJSONMatchesTrace: a trace run (-v 2, total bytes) and a --json run
// watch the same interface over the same traffic at the same time: the
// generator's totals agree within 1%, in fact up to the trace's 6
// significant digits.
func TestJSONMatchesTrace(t *testing.T) {
	netnstest.Skip(t)
	p, s := pairWithSink(t, "tcp", "4")
	tr := startGohogs(t, p.NSA, "-t", "-v", "2", "-d", "0.5", "--duration", "4s", p.IfA)
	js := startGohogs(t, p.NSA, "--json", "-v", "2", "-d", "0.5", "--duration", "4s", p.IfA)
	tr.capturing(t)
	js.waitStdout(t, "\n") // the first refresh
	gen := runTraffic(t, p.NSA, "tcp", s.addr, 3_000_000, 3_000_000)
	_, blocks := parseTrace(t, tr.wait(t, 15*time.Second))
	refs := parseJSONLines(t, js.wait(t, 15*time.Second))
	row, _ := jsonTotals(t, refs, gen.Process.Pid)
	var tsent, trecv float64
	found := false
	for _, r := range blocks[len(blocks)-1] {
		if r.pid == gen.Process.Pid {
			tsent, trecv, found = r.sent, r.rcv, true
		}
	}
	if !found {
		t.Fatalf("generator %d not in the trace's last block", gen.Process.Pid)
	}
	t.Logf("trace -v 2: sent %v recv %v; json: total_sent %d total_recv %d", tsent, trecv, row.TotalSent, row.TotalRecv)
	if !within(float64(row.TotalSent), tsent, 0.01) || !within(float64(row.TotalRecv), trecv, 0.01) {
		t.Errorf("json totals %d/%d, trace %v/%v (±1%%)", row.TotalSent, row.TotalRecv, tsent, trecv)
	}
	// The same frames were captured by both: equal up to the trace's
	// rounding to 6 significant digits.
	if math.Abs(float64(row.TotalSent)-tsent) > tsent*1e-5+1 || math.Abs(float64(row.TotalRecv)-trecv) > trecv*1e-5+1 {
		t.Errorf("json totals %d/%d differ from the trace's %v/%v beyond its rounding", row.TotalSent, row.TotalRecv, tsent, trecv)
	}
}

// TestJSONWriter: a refresh with every kind of row encodes with the
// documented fields, rows in the trace's order, empty lists as [].
func TestJSONWriter(t *testing.T) {
	var buf bytes.Buffer
	w := newSnapshotWriter(&buf, &options{json: true})
	if err := w.Line("# a header that is not JSON"); err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 3, 4, 5, 6, 7, 890, time.UTC)
	s := &trace.Snapshot{Time: at, Elapsed: 1500 * time.Millisecond, Seq: 3,
		UnknownConns: []trace.Conn{{Proto: capture.ProtoTCP, Local: netip.MustParseAddrPort("10.0.0.1:5"), Remote: netip.MustParseAddrPort("10.0.0.2:6")}},
		Rows: []trace.Row{
			{Kind: trace.KindUnknownTCP, Name: "unknown TCP", Recv: 66, TotalRecv: 66},
			{Kind: trace.KindProcess, Name: "/bin/nc", Args: "-l 80", Cmdline: []string{"/bin/nc", "-l", "80"}, PID: 42, StartTime: 777, UID: 1000,
				Sent: 10, Recv: 2000, TotalSent: 110, TotalRecv: 5000,
				Conns: []trace.Conn{{Proto: 6, Local: netip.MustParseAddrPort("[fd00::1]:80"), Remote: netip.MustParseAddrPort("[fd00::2]:5555"), Sent: 10, Recv: 2000},
					{Proto: 6, Local: netip.MustParseAddrPort("[fd00::1]:40000"), Remote: netip.MustParseAddrPort("[fd00::3]:443"), RemoteName: "files.example.test"}}},
			{Kind: trace.KindSocket, Name: "10.0.0.1:7-10.0.0.2:8", UID: 5, Sent: 1, TotalSent: 1},
			{Kind: trace.KindProcess, Name: "nginx", PID: 43, StartTime: 778, Sent: 5, TotalSent: 5,
				Cgroup: "/system.slice/nginx.service", Unit: "nginx.service"},
			{Kind: trace.KindProcess, Name: "/bin/busybox", PID: 44, StartTime: 779, Sent: 3, TotalSent: 3,
				Cgroup: "/libpod_parent/libpod-" + testID, Container: procmap.Container{Runtime: procmap.RuntimePodman, ID: testID, Name: "web"}},
		},
		Accounting: trace.Accounting{Captured: 2208, Twice: 100, Credited: 2018, Elsewhere: 40, Held: 183, Buckets: trace.Buckets{trace.ReasonNoSocket: 66, trace.ReasonNoProcess: 1}}}
	if err := w.Refresh(s); err != nil {
		t.Fatal(err)
	}
	want := `{"timestamp":"2026-03-04T05:06:07.00000089Z","interval":1.5,"seq":3,"rows":[` +
		`{"name":"/bin/nc","args":"-l 80","cmdline":["/bin/nc","-l","80"],"pid":42,"start_time":777,"uid":1000,"kind":"process","sent":10,"recv":2000,"total_sent":110,"total_recv":5000,"connections":[{"proto":"tcp","local":"[fd00::1]:80","remote":"[fd00::2]:5555","sent":10,"recv":2000},` +
		`{"proto":"tcp","local":"[fd00::1]:40000","remote":"[fd00::3]:443","remote_name":"files.example.test","sent":0,"recv":0}]},` +
		`{"name":"nginx","args":"","cmdline":[],"pid":43,"start_time":778,"uid":0,"kind":"process","cgroup":"/system.slice/nginx.service","unit":"nginx.service","sent":5,"recv":0,"total_sent":5,"total_recv":0,"connections":[]},` +
		`{"name":"/bin/busybox","args":"","cmdline":[],"pid":44,"start_time":779,"uid":0,"kind":"process","cgroup":"/libpod_parent/libpod-` + testID + `",` +
		`"container":{"runtime":"podman","id":"` + testID + `","name":"web"},"sent":3,"recv":0,"total_sent":3,"total_recv":0,"connections":[]},` +
		`{"name":"10.0.0.1:7-10.0.0.2:8","args":"","cmdline":[],"pid":0,"start_time":0,"uid":5,"kind":"socket","sent":1,"recv":0,"total_sent":1,"total_recv":0,"connections":[]},` +
		`{"name":"unknown TCP","args":"","cmdline":[],"pid":0,"start_time":0,"uid":0,"kind":"unknown_tcp","sent":0,"recv":66,"total_sent":0,"total_recv":66,"connections":[]}],` +
		`"unknown_connections":["10.0.0.1:5-10.0.0.2:6"],` +
		`"accounting":{"captured":2208,"twice":100,"credited":2018,"elsewhere":40,"held":183,"unaccounted":{"filtered":0,"forwarded":0,` +
		`"netns_unreachable":0,"no_process":1,"no_socket":66,"not_accounted":0,"not_ip":0,"overflow":0}}}` + "\n"
	if buf.String() != want {
		t.Errorf("got  %s\nwant %s", buf.String(), want)
	}
}

// BenchmarkJSONRefresh: one refresh of 200 processes with 3 connections
// each, encoded and written.
func BenchmarkJSONRefresh(b *testing.B) {
	s := &trace.Snapshot{Time: time.Now(), Elapsed: time.Second, Seq: 1}
	for i := range 200 {
		r := trace.Row{Kind: trace.KindProcess, Name: "/usr/bin/prog", Args: "--flag value", Cmdline: []string{"/usr/bin/prog", "--flag", "value"},
			PID: 1000 + i, StartTime: 12345, UID: 1000, Sent: uint64(i * 100), Recv: 5000, TotalSent: 1 << 30, TotalRecv: 1 << 31}
		for j := range 3 {
			r.Conns = append(r.Conns, trace.Conn{Proto: 6, Local: netip.MustParseAddrPort("10.0.0.1:443"),
				Remote: netip.AddrPortFrom(netip.MustParseAddr("192.0.2.7"), uint16(40000+j)), Sent: 10, Recv: 20})
		}
		s.Rows = append(s.Rows, r)
	}
	w := newSnapshotWriter(io.Discard, &options{json: true})
	b.ReportAllocs()
	for b.Loop() {
		if err := w.Refresh(s); err != nil {
			b.Fatal(err)
		}
	}
}
