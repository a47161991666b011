package main

import (
	"math"
	"os"
	"strings"
	"testing"
	"time"
)

// stamp turns text into lines one millisecond apart.
func stamp(text string) []line {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var ls []line
	for i, l := range strings.Split(text, "\n") {
		ls = append(ls, line{At: t0.Add(time.Duration(i) * time.Millisecond), Text: l})
	}
	return ls
}

// TestParseBlocksNethogsSample reads a real nethogs 0.8.7 -v 2 trace: the
// python3 client sent 6,000,000 bytes of payload in 600 segments of 10,000
// bytes, 6,039,600 bytes of frames; its largest SENT total must be that.
func TestParseBlocksNethogsSample(t *testing.T) {
	data, err := os.ReadFile("/work/shared/nethogs-samples/tcp-lo-6MB-totals-v2.txt")
	if err != nil {
		t.Skip("nethogs samples not on this machine:", err)
	}
	bs, err := parseBlocks(stamp(string(data)))
	if err != nil {
		t.Fatal(err)
	}
	if len(bs) < 5 {
		t.Fatalf("%d blocks", len(bs))
	}
	var best row
	for _, r := range maxTotals(bs) {
		if r.Sent > best.Sent {
			best = r
		}
	}
	// nethogs puts both directions of lo traffic in SENT: the client's data
	// and the server's ACKs, so the total is a little above the data frames.
	if best.Sent < 6_039_600 || best.Sent > 6_039_600*1.02 {
		t.Errorf("largest SENT total %v (%+v), want 6,039,600 B of data frames plus ACKs (≤ 2%%)", best.Sent, best)
	}
	t.Logf("largest row %+v", best)
}

func TestParseBlocks(t *testing.T) {
	text := "Adding local address: 10.0.0.1\nEthernet link detected\n\nRefreshing:\n" +
		"sshd: root@pts/0/4002/0\t1.5\t2\nunknown TCP/0/0\t0\t0\n\nRefreshing:\n" +
		"sshd: root@pts/0/4002/0\t3\t1\n/usr/bin/x y/17/1000\t5.34058e-05\t1.25771e+06\n" +
		"Unknown connection: 10.0.0.1:22-10.0.0.2:5000\nunknown TCP/0/0\t7\t0\n"
	bs, err := parseBlocks(stamp(text))
	if err != nil {
		t.Fatal(err)
	}
	if len(bs) != 2 || len(bs[0].Rows) != 2 || len(bs[1].Rows) != 3 {
		t.Fatalf("blocks %+v", bs)
	}
	if r := bs[0].Rows[0]; r.Name != "sshd: root@pts/0" || r.PID != 4002 || r.UID != 0 || r.Sent != 1.5 || r.Rcv != 2 {
		t.Errorf("row %+v", r)
	}
	if r := bs[1].Rows[1]; r.Name != "/usr/bin/x y" || r.PID != 17 || r.UID != 1000 || r.Rcv != 1.25771e+06 {
		t.Errorf("row %+v", r)
	}
	if !bs[1].At.After(bs[0].At) {
		t.Errorf("block times %v %v", bs[0].At, bs[1].At)
	}
	tot := maxTotals(bs)
	if r := tot["sshd: root@pts/0/4002/0"]; r.Sent != 3 || r.Rcv != 2 {
		t.Errorf("max totals %+v", r)
	}
	mine, all := credited(tot, func(r row) bool { return r.PID == 17 })
	if math.Abs(mine-(5.34058e-05+1.25771e+06)) > 1e-6 || math.Abs(all-(5+1.25771e+06+5.34058e-05+7)) > 1e-6 {
		t.Errorf("credited %v of %v", mine, all)
	}
}

func TestParseBlocksMalformed(t *testing.T) {
	for _, bad := range []string{"x\t1", "Adding local address: ::1", "name/1/0\tx\t1", "name/1/0\t1\ty", "name/x/0\t1\t1", "name/1/y\t1\t1", "name\t1\t1", "a/1\t1\t1"} {
		if _, err := parseBlocks(stamp("Refreshing:\n" + bad)); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
	// Before the first refresh everything is a start-up line.
	if bs, err := parseBlocks(stamp("No PPP or Ethernet link: 999\nx\t1")); err != nil || len(bs) != 0 {
		t.Errorf("start-up lines: %v %v", bs, err)
	}
}

func TestGohogsDrops(t *testing.T) {
	s := "gohogs: capture a packets 10 bytes 100 malformed 0 kernel-drops 3\n" +
		"gohogs: capture b packets 10 bytes 100 malformed 0 kernel-drops 1\n" +
		"gohogs: capture a packets 20 bytes 200 malformed 0 kernel-drops 5\n"
	if d := gohogsDrops(s); d != 6 {
		t.Errorf("drops %d, want 6 (last of a + last of b)", d)
	}
	if d := gohogsDrops("nothing"); d != -1 {
		t.Errorf("drops %d, want -1", d)
	}
}

func TestMedianSpread(t *testing.T) {
	v := []float64{3, math.NaN(), 1, 2, 10}
	if m := median(v); m != 2.5 {
		t.Errorf("median %v", m)
	}
	lo, hi, n := spread(v)
	if lo != 1 || hi != 10 || n != 4 {
		t.Errorf("spread %v %v %v", lo, hi, n)
	}
	if !math.IsNaN(median([]float64{math.NaN()})) {
		t.Error("median of nothing")
	}
}
