package plot

import (
	"bytes"
	"fmt"
	"image/png"
	"iter"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gohogs/gohogs/trace/report"
)

// dayBuckets reads a JSON log of a day in 10-minute refreshes: "backup"
// sends 1 MiB each refresh from 02:00 to 04:00, "web" 100 KiB all day, and
// ten small programs 1 KiB each, by name in hourly buckets.
func dayBuckets(t *testing.T) []report.Bucket {
	t.Helper()
	var b strings.Builder
	day := time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC)
	for at := day; at.Before(day.Add(24 * time.Hour)); at = at.Add(10 * time.Minute) {
		fmt.Fprintf(&b, `{"timestamp":%q,"interval":600,"rows":[`, at.Add(10*time.Minute).Format(time.RFC3339))
		fmt.Fprintf(&b, `{"name":"web","pid":2,"uid":33,"sent":%d,"recv":0}`, 100<<10)
		if at.Hour() >= 2 && at.Hour() < 4 {
			fmt.Fprintf(&b, `,{"name":"backup","pid":3,"uid":0,"sent":%d,"recv":0}`, 1<<20)
		}
		for i := range 10 {
			fmt.Fprintf(&b, `,{"name":"small%d","pid":%d,"uid":0,"sent":1024,"recv":0}`, i, 10+i)
		}
		b.WriteString("]}\n")
	}
	rep := report.New(report.Options{Every: time.Hour, Location: time.UTC})
	if err := rep.Add("day", strings.NewReader(b.String())); err != nil {
		t.Fatal(err)
	}
	if w := rep.Warnings(); len(w) != 0 {
		t.Fatal(w)
	}
	return rep.Buckets()
}

func seq(b []report.Bucket) iter.Seq[report.Bucket] { return slices.Values(b) }

// TestSVG: the chart names the top programs in its legend and "other" for
// the rest, and labels the axes in human units.
func TestSVG(t *testing.T) {
	buckets := dayBuckets(t)
	if len(buckets) != 24 {
		t.Fatalf("%d buckets", len(buckets))
	}
	var out bytes.Buffer
	if err := Write(&out, SVG, seq(buckets), Options{Every: time.Hour, Top: 3, Title: "day", Location: time.UTC}); err != nil {
		t.Fatal(err)
	}
	svg := out.String()
	for _, want := range []string{"<svg", ">backup<", ">web<", ">other<", "KiB/s<", ">12:00<", ">Nov 28<", ">day<"} {
		if !strings.Contains(svg, want) {
			t.Errorf("the SVG lacks %q", want)
		}
	}
	// small0 (first of the small ones by name) is in the top 3; small9 is not.
	if !strings.Contains(svg, ">small0<") || strings.Contains(svg, ">small9<") {
		t.Errorf("top 3 wrong")
	}
}

// TestPNG: the PNG decodes at the size asked for; a copy is left in
// $GOHOGS_PLOT_DIR when set, to look at.
func TestPNG(t *testing.T) {
	var out bytes.Buffer
	if err := Write(&out, PNG, seq(dayBuckets(t)), Options{Every: time.Hour, Width: 900, Height: 450, Title: "gohogs report --every 1h", Location: time.UTC}); err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(out.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if b := img.Bounds(); b.Dx() != 900 || b.Dy() != 450 {
		t.Errorf("size %v, want 900x450", b)
	}
	if dir := os.Getenv("GOHOGS_PLOT_DIR"); dir != "" {
		os.WriteFile(filepath.Join(dir, "day.png"), out.Bytes(), 0o644)
	}
}

func TestNothingAndFormat(t *testing.T) {
	if err := Write(&bytes.Buffer{}, SVG, seq(nil), Options{Every: time.Hour}); err != ErrNothing {
		t.Errorf("no buckets: %v", err)
	}
	if err := Write(&bytes.Buffer{}, SVG, seq([]report.Bucket{{Start: time.Now(), Rows: []report.Row{{Name: "idle"}}}}), Options{Every: time.Hour}); err != ErrNothing {
		t.Errorf("no bytes: %v", err)
	}
	for name, want := range map[string]Format{"a.svg": SVG, "b.PNG": PNG, "/x/c.png": PNG} {
		if f, err := FormatOf(name); err != nil || f != want {
			t.Errorf("FormatOf(%q) = %q, %v", name, f, err)
		}
	}
	if _, err := FormatOf("a.pdf"); err == nil || !strings.Contains(err.Error(), ".svg or .png") {
		t.Errorf("a.pdf: %v", err)
	}
}

func TestSteps(t *testing.T) {
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	got := fmt.Sprint(steps([]time.Time{at, at.Add(time.Hour), at.Add(3 * time.Hour)}, time.Hour))
	h := func(n int) float64 { return unix(at.Add(time.Duration(n) * time.Hour)) }
	want := fmt.Sprint([]step{{h(0), 0}, {h(1), 0}, {h(1), 1}, {h(2), 1}, {h(2), -1}, {h(3), -1}, {h(3), 2}, {h(4), 2}})
	if got != want {
		t.Errorf("steps\n%s, want\n%s", got, want)
	}
}

// TestCoarsen: a day of minute buckets is drawn in 5-minute buckets, each
// with the bytes of its five minutes.
func TestCoarsen(t *testing.T) {
	day := time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC)
	var b []report.Bucket
	for m := range 24 * 60 {
		b = append(b, report.Bucket{Start: day.Add(time.Duration(m) * time.Minute), Rows: []report.Row{{Name: "a", Sent: int64(m)}}})
	}
	c := collect(seq(b), Options{Every: time.Minute, Top: 8, Location: time.UTC})
	if c.width != 5*time.Minute || len(c.starts) != 288 || !c.starts[1].Equal(day.Add(5*time.Minute)) {
		t.Fatalf("coarsen: %v, %d buckets, second at %v", c.width, len(c.starts), c.starts[1])
	}
	if c.series[0][1] != float64(5+6+7+8+9)/300 {
		t.Errorf("second bucket %v B/s, want %v", c.series[0][1], float64(5+6+7+8+9)/300)
	}
	// Few buckets stay as they are.
	if c := collect(seq(b[:300]), Options{Every: time.Minute, Top: 8, Location: time.UTC}); c.width != time.Minute || len(c.starts) != 300 {
		t.Errorf("300 buckets: %v, %d", c.width, len(c.starts))
	}
}
