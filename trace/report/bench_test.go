package report

import (
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/gohogs/gohogs/trace/nethogs"
)

// hourLog is one hour of 1-second refreshes with 12 processes each.
func hourLog() string {
	var b strings.Builder
	b.WriteString((&Header{Delay: time.Second, ViewMode: ViewKBps, Run: "bench", Seq: 1}).String() + "\n")
	b.WriteString("Adding local address: 10.0.0.1\nEthernet link detected\n")
	for i := 0; i < 3600; i++ {
		b.WriteString("\nRefreshing:\n")
		for p := 0; p < 12; p++ {
			fmt.Fprintf(&b, "/usr/bin/prog%d --flag/%d/1000\t%s\t%s\n", p, 1000+p, nethogs.FormatValue(float64(i*p)*0.37), nethogs.FormatValue(float64(p)*12.5))
		}
		b.WriteString("unknown TCP/0/0\t0\t0\n")
	}
	return b.String()
}

// BenchmarkAdd reads one hour of a 1-second log (3600 refreshes, 13 rows
// each); MB/s is input read.
func BenchmarkAdd(b *testing.B) {
	log := hourLog()
	b.SetBytes(int64(len(log)))
	b.ReportAllocs()
	for b.Loop() {
		rep := New(Options{})
		if err := rep.Add("hour", strings.NewReader(log)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRows sums 24 hourly logs (a day) by name.
func BenchmarkRows(b *testing.B) {
	log := hourLog()
	rep := New(Options{})
	for h := 0; h < 24; h++ {
		rep.Add("hour", strings.NewReader(strings.Replace(log, "seq=1", fmt.Sprintf("seq=%d", h+1), 1)))
	}
	b.ReportAllocs()
	for b.Loop() {
		rows := rep.Rows()
		if len(rows) != 13 {
			b.Fatal(len(rows))
		}
		WriteTable(io.Discard, ByName, rows)
	}
}

func BenchmarkParseLine(b *testing.B) {
	line := "/root/.pyenv/versions/3.11.7/bin/python3/5118/0\t1.38925e+06\t0.0117188"
	b.SetBytes(int64(len(line)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseLine(line); err != nil {
			b.Fatal(err)
		}
	}
}
