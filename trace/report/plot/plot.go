// Package plot draws the time buckets of a report (package report) as a
// stacked area chart: the top groups (programs, or units, containers,
// remotes, users) over time, each bucket's bytes as its mean rate, with a
// legend and axes in human units (time of day, KiB/s). It uses
// gonum.org/v1/plot, so that SVG and PNG come from one drawing.
package plot

import (
	"cmp"
	"errors"
	"fmt"
	"image/color"
	"io"
	"iter"
	"math"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	gplot "gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/gohogs/gohogs/trace/report"
)

// Format is an image format of the chart.
type Format string

// The formats.
const (
	SVG Format = "svg"
	PNG Format = "png"
)

// FormatOf returns the format a file name asks for by its extension
// (.svg or .png, any case).
func FormatOf(path string) (Format, error) {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".svg":
		return SVG, nil
	case ".png":
		return PNG, nil
	}
	return "", fmt.Errorf("plot: %s: want a file name ending in .svg or .png", path)
}

// Options say what to draw.
type Options struct {
	// By is the grouping of the buckets' rows, which names the series.
	By report.GroupBy
	// Every is the width of the buckets. When they are more than MaxPoints
	// over their span, the chart draws wider ones (5m, 15m, 1h, ... 1d):
	// a bucket's rate is its bytes over its width.
	Every time.Duration
	// Top is the number of groups drawn, the largest by total bytes; the
	// rest are drawn as one, "other". 0 means 8.
	Top int
	// Width and Height are the size in pixels (PNG at 96 dots per inch, SVG
	// the same size in points × 4/3); 0 means 1200 × 600.
	Width, Height int
	// Title is drawn above the chart; Location is the time zone of the
	// time axis (nil: time.Local).
	Title    string
	Location *time.Location
}

// ErrNothing is returned when there is no traffic to draw.
var ErrNothing = errors.New("plot: no traffic in the time selected")

// Write draws the buckets (in time order, as report.Report.BucketSeq
// yields them; ranged over twice) and writes the chart to w in format f.
func Write(w io.Writer, f Format, buckets iter.Seq[report.Bucket], o Options) error {
	if o.Top <= 0 {
		o.Top = 8
	}
	if o.Width <= 0 || o.Height <= 0 {
		o.Width, o.Height = 1200, 600
	}
	if o.Location == nil {
		o.Location = time.Local
	}
	if o.Every <= 0 {
		return ErrNothing
	}
	c := collect(buckets, o)
	if len(c.names) == 0 {
		return ErrNothing
	}
	names, series, other := c.names, c.series, c.other
	p := gplot.New()
	p.Title.Text = o.Title
	zone, _ := c.starts[0].In(o.Location).Zone()
	p.X.Label.Text = "time (" + zone + "), buckets of " + report.FormatEvery(c.width)
	p.Y.Label.Text = "sent + received"
	p.X.Tick.Marker = timeTicks{o.Location}
	p.Y.Tick.Marker = rateTicks{}
	p.Y.Min = 0
	p.Add(plotter.NewGrid())
	p.Legend.Top = true
	p.Legend.Padding = vg.Points(2)
	xs := steps(c.starts, c.width)
	lower := make([]float64, len(xs))
	var polys []*plotter.Polygon
	for i, s := range series {
		upper := make([]float64, len(xs))
		for k, x := range xs {
			upper[k] = lower[k]
			if x.bucket >= 0 {
				upper[k] += s[x.bucket]
			}
		}
		ring := make(plotter.XYs, 0, 2*len(xs))
		for k, x := range xs {
			ring = append(ring, plotter.XY{X: x.at, Y: upper[k]})
		}
		for k := len(xs) - 1; k >= 0; k-- {
			ring = append(ring, plotter.XY{X: xs[k].at, Y: lower[k]})
		}
		poly, err := plotter.NewPolygon(ring)
		if err != nil {
			return fmt.Errorf("plot: %w", err)
		}
		poly.Color = fill(i, other && i == len(series)-1)
		poly.LineStyle.Width = vg.Points(0.5)
		poly.LineStyle.Color = color.Gray{Y: 80}
		polys = append(polys, poly)
		lower = upper
	}
	// The largest is drawn at the bottom and listed first.
	for i, poly := range polys {
		p.Add(poly)
		p.Legend.Add(names[i], poly)
	}
	cv, err := draw.NewFormattedCanvas(vg.Length(o.Width)*vg.Inch/96, vg.Length(o.Height)*vg.Inch/96, string(f))
	if err != nil {
		return fmt.Errorf("plot: %w", err)
	}
	// The legend goes right of the chart, in room taken from it.
	dc := draw.New(cv)
	lr := p.Legend.Rectangle(dc)
	room := lr.Max.X - lr.Min.X + vg.Points(6)
	p.Legend.XOffs = room
	p.Draw(draw.Crop(dc, 0, -room, 0, 0))
	if _, err := cv.WriteTo(w); err != nil {
		return fmt.Errorf("plot: write: %w", err)
	}
	return nil
}

// MaxPoints is the most buckets a chart draws.
const MaxPoints = 300

// chart is what is drawn: the bucket starts, their width, the names of the
// top groups (and "other", the last when other) and for each the mean rate
// in every bucket, bytes per second.
type chart struct {
	starts []time.Time
	width  time.Duration
	names  []string
	series [][]float64
	other  bool
}

// collect ranges over the buckets twice: for their span and each group's
// total, then to sum the top groups' bytes into buckets of the first width
// of every, 5m, 15m, 1h, 3h, 6h, 1d, 7d that draws the span in at most
// MaxPoints.
func collect(buckets iter.Seq[report.Bucket], o Options) chart {
	var first, last time.Time
	totals := make(map[string]int64)
	for b := range buckets {
		if first.IsZero() {
			first = b.Start
		}
		last = b.Start
		for _, r := range b.Rows {
			totals[Label(o.By, r)] += r.Total()
		}
	}
	var c chart
	for name, t := range totals {
		if t > 0 {
			c.names = append(c.names, name)
		}
	}
	if len(c.names) == 0 {
		return c
	}
	slices.SortFunc(c.names, func(a, b string) int { return cmp.Or(cmp.Compare(totals[b], totals[a]), cmp.Compare(a, b)) })
	c.other = len(c.names) > o.Top
	if c.other {
		c.names = append(c.names[:o.Top], "other")
	}
	index := make(map[string]int, len(c.names))
	for i, n := range c.names {
		index[n] = i
	}
	span := last.Sub(first) + o.Every
	c.width = o.Every
	const day = 24 * time.Hour
	for _, w := range []time.Duration{5 * time.Minute, 15 * time.Minute, time.Hour, 3 * time.Hour, 6 * time.Hour, day, 7 * day} {
		if span/c.width <= MaxPoints {
			break
		}
		if w > o.Every && w%o.Every == 0 {
			c.width = w
		}
	}
	c.series = make([][]float64, len(c.names))
	secs := c.width.Seconds()
	for b := range buckets {
		start := b.Start
		if c.width != o.Every {
			start = report.BucketStart(b.Start, c.width, o.Location)
		}
		if len(c.starts) == 0 || !c.starts[len(c.starts)-1].Equal(start) {
			c.starts = append(c.starts, start)
			for i := range c.series {
				c.series[i] = append(c.series[i], 0)
			}
		}
		k := len(c.starts) - 1
		for _, r := range b.Rows {
			i, ok := index[Label(o.By, r)]
			if !ok {
				if !c.other {
					continue
				}
				i = len(c.names) - 1
			}
			c.series[i][k] += float64(r.Total()) / secs
		}
	}
	return c
}

// Label names a row's group in the legend.
func Label(by report.GroupBy, r report.Row) string {
	switch by {
	case report.ByPID:
		return r.Name + " (" + strconv.Itoa(r.PID) + ")"
	case report.ByUser:
		if r.UID < 0 {
			return "no user"
		}
		return "uid " + strconv.FormatInt(r.UID, 10)
	case report.ByUnit:
		return r.Unit
	case report.ByContainer:
		return r.Container.Label()
	case report.ByRemote:
		return r.Remote
	}
	return r.Name
}

// step is a point of the time axis: a bucket's start or end with that
// bucket's value, or a gap between buckets (bucket -1) at 0.
type step struct {
	at     float64 // Unix seconds
	bucket int
}

// steps returns the x points that draw each bucket flat over its width,
// dropping to 0 between buckets that are not adjacent.
func steps(starts []time.Time, every time.Duration) []step {
	var xs []step
	for k, start := range starts {
		end := start.Add(every)
		if k+1 < len(starts) && starts[k+1].Before(end) {
			end = starts[k+1] // a shorter day (DST)
		}
		if k > 0 && xs[len(xs)-1].at < unix(start) {
			xs = append(xs, step{xs[len(xs)-1].at, -1}, step{unix(start), -1})
		}
		xs = append(xs, step{unix(start), k}, step{unix(end), k})
	}
	return xs
}

func unix(t time.Time) float64 { return float64(t.UnixNano()) / 1e9 }

// timeTicks marks the time axis at round times in loc (every 15 minutes,
// hour, 6 hours, day...), about 4 to 10 marks, labelled with the clock, the
// date at midnight.
type timeTicks struct{ loc *time.Location }

func (t timeTicks) Ticks(min, max float64) []gplot.Tick {
	span := time.Duration((max - min) * 1e9)
	const day = 24 * time.Hour
	step := 30 * day
	for _, s := range []time.Duration{time.Second, 5 * time.Second, 15 * time.Second, 30 * time.Second, time.Minute, 5 * time.Minute,
		15 * time.Minute, 30 * time.Minute, time.Hour, 2 * time.Hour, 3 * time.Hour, 6 * time.Hour, 12 * time.Hour, day, 2 * day, 7 * day} {
		if span/s <= 10 {
			step = s
			break
		}
	}
	from := time.Unix(0, int64(min*1e9)).In(t.loc)
	y, m, d := from.Date()
	at := time.Date(y, m, d, 0, 0, 0, 0, t.loc)
	if step < day {
		at = at.Add(from.Sub(at).Truncate(step))
	}
	var ticks []gplot.Tick
	for ; unix(at) <= max && len(ticks) < 100; at = next(at, step, t.loc) {
		if unix(at) < min {
			continue
		}
		label := at.Format("15:04")
		switch {
		case step >= day || at.Hour() == 0 && at.Minute() == 0 && at.Second() == 0:
			label = at.Format("Jan 2")
		case step < time.Minute:
			label = at.Format("15:04:05")
		}
		ticks = append(ticks, gplot.Tick{Value: unix(at), Label: label})
	}
	return ticks
}

// next returns the mark after at: step later, or step days later at the
// same clock time in loc.
func next(at time.Time, step time.Duration, loc *time.Location) time.Time {
	if step >= 24*time.Hour {
		y, m, d := at.Date()
		return time.Date(y, m, d+int(step/(24*time.Hour)), 0, 0, 0, 0, loc)
	}
	return at.Add(step)
}

// fill returns the colour of series i, grey for "other".
func fill(i int, other bool) color.Color {
	if other {
		return color.Gray{Y: 190}
	}
	colors := append(slices.Clip(plotutil.SoftColors), plotutil.DarkColors...)
	return colors[i%len(colors)]
}

// rateTicks labels the rate axis in binary units: 0, 512 KiB/s, 1 MiB/s.
type rateTicks struct{}

func (rateTicks) Ticks(min, max float64) []gplot.Tick {
	unit, name := 1.0, "B/s"
	for _, u := range []struct {
		f    float64
		name string
	}{{1 << 10, "KiB/s"}, {1 << 20, "MiB/s"}, {1 << 30, "GiB/s"}, {1 << 40, "TiB/s"}} {
		if max >= u.f {
			unit, name = u.f, u.name
		}
	}
	ticks := gplot.DefaultTicks{}.Ticks(min/unit, max/unit)
	for i := range ticks {
		if ticks[i].Label != "" {
			ticks[i].Label += " " + name
		}
		ticks[i].Value *= unit
		if math.Abs(ticks[i].Value) < 1e-9 {
			ticks[i].Value = 0
		}
	}
	return ticks
}
