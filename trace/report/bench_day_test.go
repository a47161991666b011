package report

import (
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gohogs/gohogs/trace/nethogs"
)

// stream is a log generated as it is read, one refresh at a time: n
// refreshes, refresh i appended to b by next. It writes nothing to disk
// and keeps one refresh in memory, so that a benchmark measures the reader.
type stream struct {
	n, i int
	next func(i int, b []byte) []byte
	buf  []byte
	off  int
}

func (s *stream) Read(p []byte) (int, error) {
	for s.off == len(s.buf) {
		if s.i == s.n {
			return 0, io.EOF
		}
		s.buf, s.off = s.next(s.i, s.buf[:0]), 0
		s.i++
	}
	n := copy(p, s.buf[s.off:])
	s.off += n
	return n, nil
}

// busyHour generates hour h (0..23) of a day of 1-second gohogs trace logs
// from a busy host: 3600 refreshes of rows processes each, a third of them
// replaced by new pids every 10 minutes, rotated hourly (header seq h+1 of
// one run).
func busyHour(h, rows int) io.Reader {
	var names, values []string
	for p := range rows {
		names = append(names, "/usr/lib/busy/worker-"+strconv.Itoa(p%97)+" --pool "+strconv.Itoa(p))
	}
	for v := range 101 {
		values = append(values, nethogs.FormatValue(float64(v*v)*0.731))
	}
	return &stream{n: 3600, next: func(i int, b []byte) []byte {
		if i == 0 {
			hd := Header{Delay: time.Second, ViewMode: ViewKBps, Run: NewRun(time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC)), Seq: h + 1}
			b = append(b, hd.String()+"\nAdding local address: 10.0.0.1\nEthernet link detected\n"...)
		}
		sec := h*3600 + i
		b = append(b, "\nRefreshing:\n"...)
		for p := range rows {
			pid := 1000 + p
			if p%3 == 0 {
				pid += (sec / 600) * rows // new pids every 10 minutes
			}
			b = append(b, names[p]...)
			b = append(b, '/')
			b = strconv.AppendInt(b, int64(pid), 10)
			b = append(b, "/1000\t"...)
			b = append(b, values[(sec+p)%101]...)
			b = append(b, '\t')
			b = append(b, values[(sec*7+p)%101]...)
			b = append(b, '\n')
		}
		return append(b, "unknown TCP/0/0\t0\t0.0117188\n"...)
	}}
}

// peakRSS returns the process's peak resident memory in MB (VmHWM).
func peakRSS() float64 {
	b, _ := os.ReadFile("/proc/self/status")
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			return kb / 1024
		}
	}
	return 0
}

// BenchmarkDay reports a day of 1-second logs of a busy host: 24 hourly
// files, 86,400 refreshes of 301 rows (26 million rows, 1.5 GB of text),
// by pid, as `gohogs report` does with and without 1-minute buckets.
// Run it alone (-run XXX -bench Day -benchtime 1x): peak-RSS-MB is the
// whole test process's peak.
func BenchmarkDay(b *testing.B) {
	for _, c := range []struct {
		name  string
		opts  Options
		check func(b *testing.B, rep *Report)
	}{
		{"by-pid", Options{By: ByPID}, func(b *testing.B, rep *Report) {
			if rows := rep.Rows(); len(rows) < 300 || rows[0].Refreshes < 3600 {
				b.Fatalf("%d rows", len(rows))
			}
		}},
		{"by-name-every-1m", Options{Every: time.Minute, Location: time.UTC}, func(b *testing.B, rep *Report) {
			n := 0
			for range rep.BucketSeq() {
				n++
			}
			if n != 1440 {
				b.Fatalf("%d buckets", n)
			}
		}},
	} {
		b.Run(c.name, func(b *testing.B) {
			rep := benchDay(b, c.opts, func(h int) io.Reader { return busyHour(h, 300) })
			if w := rep.Warnings(); len(w) != 0 {
				b.Fatal(w)
			}
			c.check(b, rep)
		})
	}
}

// BenchmarkDayGzip reads the day of BenchmarkDay from 24 gzip-compressed
// hourly files (logrotate's compress), by name.
func BenchmarkDayGzip(b *testing.B) {
	dir := b.TempDir()
	var paths []string
	var plain int64
	for h := range 24 {
		p := filepath.Join(dir, "hour"+strconv.Itoa(h)+".log.gz")
		f, err := os.Create(p)
		if err != nil {
			b.Fatal(err)
		}
		zw, _ := gzip.NewWriterLevel(f, gzip.BestSpeed)
		n, err := io.Copy(zw, busyHour(h, 300))
		if err != nil || zw.Close() != nil || f.Close() != nil {
			b.Fatal(err)
		}
		plain += n
		paths = append(paths, p)
	}
	var rep *Report
	for b.Loop() {
		rep = New(Options{})
		for _, p := range paths {
			if err := rep.AddFile(p); err != nil {
				b.Fatal(err)
			}
		}
		if err := WriteTable(io.Discard, ByName, rep.Rows()); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(plain)
	b.ReportMetric(peakRSS(), "peak-RSS-MB")
	if rows := rep.Rows(); len(rows) != 301 || len(rep.Warnings()) != 0 {
		b.Fatalf("%d rows, %v", len(rows), rep.Warnings())
	}
}

// benchDay reads the 24 hours that hour generates into a report as
// `gohogs report` does (the rows written as CSV), b.N times; MB/s is log
// read, peak-RSS-MB the whole test process's peak.
func benchDay(b *testing.B, opts Options, hour func(h int) io.Reader) *Report {
	var bytes int64
	var rep *Report
	for b.Loop() {
		rep = New(opts)
		bytes = 0
		for h := range 24 {
			cr := &countReader{r: hour(h)}
			if err := rep.Add("hour"+strconv.Itoa(h), cr); err != nil {
				b.Fatal(err)
			}
			bytes += cr.n
		}
		if err := WriteBucketSeq(io.Discard, FormatCSV, opts.By, opts.Every, rep.BucketSeq()); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(bytes)
	b.ReportMetric(peakRSS(), "peak-RSS-MB")
	return rep
}

type countReader struct {
	r io.Reader
	n int64
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// BenchmarkGenerator is the cost of the generator alone, to subtract.
func BenchmarkGenerator(b *testing.B) {
	buf := make([]byte, 64<<10)
	for b.Loop() {
		for h := range 24 {
			g := busyHour(h, 300)
			for {
				if _, err := g.Read(buf); err != nil {
					break
				}
			}
		}
	}
}

// BenchmarkJSONHour reads hour 0 of the busy host's JSON log (busyJSON:
// 3600 refreshes of 302 rows, 1.5 GB) by name and by remote; MB/s is JSON
// read.
func BenchmarkJSONHour(b *testing.B) {
	for _, by := range []GroupBy{ByName, ByRemote} {
		b.Run("by-"+by.String(), func(b *testing.B) {
			var n int64
			for b.Loop() {
				rep := New(Options{By: by})
				cr := &countReader{r: busyJSONHour(0)}
				if err := rep.Add("json", cr); err != nil {
					b.Fatal(err)
				}
				n = cr.n
				if rows := rep.Rows(); len(rows) < 99 || len(rep.Warnings()) != 0 {
					b.Fatalf("%d rows %v", len(rows), rep.Warnings())
				}
			}
			b.SetBytes(n)
			b.ReportMetric(peakRSS(), "peak-RSS-MB")
		})
	}
}

// BenchmarkJSONDay reports a day of the busy host's 1-second JSON logs
// (busyJSON: 24 hourly files, 86,400 refreshes of 302 rows, 36 GB,
// streamed, nothing on disk) as `gohogs report` does, by name, pid and
// remote, with and without 1-minute buckets. Run one at a time
// (-run XXX -bench 'JSONDay/by-name$' -benchtime 1x): peak-RSS-MB is the
// whole test process's peak.
func BenchmarkJSONDay(b *testing.B) {
	for _, c := range []struct {
		name    string
		opts    Options
		minRows int
	}{
		{"by-name", Options{By: ByName}, 99},
		{"by-pid", Options{By: ByPID}, 300},
		{"by-remote", Options{By: ByRemote}, 4000},
		{"by-name-every-1m", Options{Every: time.Minute, Location: time.UTC}, 99},
		{"by-remote-every-1m", Options{By: ByRemote, Every: time.Minute, Location: time.UTC}, 4000},
	} {
		b.Run(c.name, func(b *testing.B) {
			rep := benchDay(b, c.opts, busyJSONHour)
			if w := rep.Warnings(); len(w) != 0 {
				b.Fatal(w)
			}
			rows := rep.Rows()
			if len(rows) < c.minRows || rows[0].Refreshes < 3600 {
				b.Fatalf("%d rows, the first %+v", len(rows), rows[0])
			}
			if c.opts.Every > 0 {
				n := 0
				for range rep.BucketSeq() {
					n++
				}
				if n != 1440 {
					b.Fatalf("%d buckets", n)
				}
			}
		})
	}
}

// BenchmarkJSONGenerator is the cost of busyJSON alone, to subtract: a day.
func BenchmarkJSONGenerator(b *testing.B) {
	buf := make([]byte, 1<<20)
	var n int64
	for b.Loop() {
		n = 0
		for h := range 24 {
			cr := &countReader{r: busyJSONHour(h)}
			for {
				if _, err := cr.Read(buf); err != nil {
					break
				}
			}
			n += cr.n
		}
	}
	b.SetBytes(n)
}

// BenchmarkJSONLine counts busy refresh lines already in memory, in one
// goroutine: the scanner and the tally alone, by name and by remote.
func BenchmarkJSONLine(b *testing.B) {
	var lines [][]byte
	for _, l := range bytes.SplitAfter(busyBody(0, 0, []byte(`{"timestamp":"2026-11-28T00:00:01Z","interval":1,"seq":1`)), []byte("\n")) {
		if len(l) > 0 {
			lines = append(lines, l[:len(l)-1])
		}
	}
	for _, by := range []GroupBy{ByName, ByRemote} {
		b.Run("by-"+by.String(), func(b *testing.B) {
			w := newJSONWorker(&Options{By: by})
			b.SetBytes(int64(len(lines[0])))
			for b.Loop() {
				if err := w.line(lines[0]); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
