package main

import (
	"flag"
	"fmt"
	"io"
	"iter"
	"os"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gohogs/gohogs/trace/report"
	"github.com/gohogs/gohogs/trace/report/plot"
)

// Exit codes of `gohogs report`.
const (
	reportOK      = 0 // report printed, every line understood
	reportFailed  = 1 // usage error or an input that cannot be read; no report
	reportSkipped = 3 // report printed, but some lines (or duplicate files) were skipped
)

const reportUsage = `usage: gohogs report [-d SECONDS] [-v MODE] [--by KEY] [--top N]
                     [--every D] [--since T] [--until T] [--plot FILE.svg|.png]
                     [--format table|csv|json] [--name-time PATTERN] FILE...

Sums logs into per-process totals: bytes sent and received, peak and mean
rate, the refreshes and time each was seen. The logs are trace logs written
by gohogs (-t, --output) or nethogs (-t), or JSON logs written by gohogs
(--json --output), told apart by their first line. FILE - reads standard
input; gzip-compressed logs are read as they are. Many files (a day of
hourly logs) make one report.

Totals are bytes, not a sum of rates: in the rate view modes (0 KB/s, 4 MB/s,
5 GB/s) each refresh counts value x unit x delay; in the cumulative modes
(1 KB, 2 B, 3 MB) each process counts the growth of its running total, and
the files of one gohogs run (rotated with --rotate) continue one another.
JSON logs have exact bytes. KB = 1024 bytes.

Files written by gohogs --output start with a header line such as
  # gohogs delay=1s view=0 run=20261128T041304.123Z seq=1
which gives the delay and view mode of that file (overriding -d and -v),
the run's start time, and ties a run's rotated files together. nethogs logs
have none: give -d and -v as nethogs had them (default 1 second, view 0),
and --name-time for their times.

Flags (also with one dash; flags and files may be mixed):
  -d SECONDS          refresh delay of files without a header; fractions
                      allowed (0.5), or a Go duration (500ms). Default 1.
  -v MODE             view mode of files without a header: 0 KB/s, 1 total KB,
                      2 total bytes, 3 total MB, 4 MB/s, 5 GB/s. When not
                      given, 0 is assumed and a warning says when the numbers
                      only grow, as in a cumulative mode.
  --by KEY            group by program name (name, the default), by process
                      (pid: pid, uid and name), by uid (user), or, from JSON
                      logs, by systemd unit (unit), by container (container)
                      or by the remote end of each connection (remote: its
                      DNS name when gohogs saw it, else its address). The
                      rows of traffic without an owner (unknown TCP, unknown
                      UDP, and nethogs's rows named after a connection) keep
                      their own names; by user they are uid "-". Rows without
                      the unit, container or remote are under "(no unit)",
                      "(no container)", "(no remote)"; trace logs carry none
                      of the three: their rows are under "(trace log)".
  --top N             print only the N largest rows (of each time bucket);
                      with --plot, draw the N largest (default 8). 0: all.
  --every D           split the totals into time buckets of D (1m, 15m, 1h,
                      1d: whole seconds that divide a day, or whole days),
                      starting on the hour and at local midnight. csv gets a
                      first column time, json a time key (the bucket's
                      start, RFC 3339); the table prints one block a bucket.
  --since T           count only the refreshes at or after T, and
  --until T           before T. T is RFC 3339 (2026-11-28T03:00:00Z), a date
                      and time (2026-11-28 03:00, local), a date (its
                      midnight), a clock time today (03:00), now, or relative
                      to now (-24h, -90m, -2d). A refresh's time is the start
                      of the interval it covers.
  --plot FILE         draw the top groups over time as a stacked chart, to
                      FILE.svg or FILE.png, in the --every buckets (or finer
                      ones drawn at most 300 to a chart).
  --format FORMAT     table (default; human units), csv or json (exact bytes
                      as integers, rates in bytes per second).
  --name-time PATTERN the strftime pattern (%Y %m %d %H %M %S %b ...) that
                      named files without a header after their start time,
                      local time: gives their refresh times. For the cron
                      job's logs: --name-time %b_%d_%Y_%H_%M_%S
  -h, --help          print this help.

Times: JSON logs time every refresh; gohogs trace logs have their run's
start in the header (refresh k at start + k x delay); nethogs logs have no
times but by --name-time. Asked about time (--every, --since, --until, --plot),
the refreshes without one are left out, with a warning.

A line that is not understood is reported on standard error as FILE:LINE:
reason and skipped; the report is still printed. A file given twice is
counted once. Warnings that skip nothing: a rotated file of a run missing
between those given, a name that --name-time does not match, and (without
-v) numbers that look cumulative.
Exit status: 0 report printed, every line read; 1 usage error, a file that
cannot be read (no report) or a chart that cannot be drawn; 3 report printed
but lines (or refreshes without a time) were skipped.
`

// delayFlag parses -d: seconds with fractions (nethogs style) or a Go duration.
type delayFlag struct{ d time.Duration }

func (f *delayFlag) String() string { return f.d.String() }

func (f *delayFlag) Set(s string) error {
	d, err := parseDelay(s)
	if err != nil {
		return err
	}
	f.d = d
	return nil
}

func parseDelay(s string) (time.Duration, error) {
	var d time.Duration
	if secs, err := strconv.ParseFloat(s, 64); err == nil {
		if !(secs > 0) || secs > 365*24*3600 {
			return 0, fmt.Errorf("delay %q: must be more than 0 seconds", s)
		}
		d = time.Duration(secs * float64(time.Second))
	} else {
		d, err = time.ParseDuration(s)
		if err != nil {
			return 0, fmt.Errorf("delay %q: not a number of seconds or a duration", s)
		}
	}
	if d <= 0 {
		return 0, fmt.Errorf("delay %q: must be more than 0 seconds", s)
	}
	return d, nil
}

// runReport is `gohogs report`: args are the words after "report". It
// prints the report on stdout, problems on stderr, and returns the exit code.
func runReport(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if os.Getenv("GOMEMLIMIT") == "" {
		// The garbage collector lets the heap grow to twice what is live
		// before it collects; a day in minute buckets has 100 MB live. A
		// soft limit makes it collect sooner rather than use 300 MB.
		debug.SetMemoryLimit(reportMemoryLimit)
	}
	return runReportAt(args, stdin, stdout, stderr, time.Now())
}

// reportMemoryLimit is the soft memory limit of `gohogs report` (GOMEMLIMIT
// overrides it); a larger report goes over it, collecting more often.
const reportMemoryLimit = 150 << 20

// runReportAt is runReport with the clock read once: now is what "today"
// and relative times in --since and --until are taken from.
func runReportAt(args []string, stdin io.Reader, stdout, stderr io.Writer, now time.Time) int {
	fs := flag.NewFlagSet("gohogs report", flag.ContinueOnError)
	fs.SetOutput(stderr)
	// On a bad flag, flag prints the error and then this; -h prints all.
	fs.Usage = func() { fmt.Fprintln(stderr, "run 'gohogs report -h' for help") }
	delay := &delayFlag{d: time.Second}
	fs.Var(delay, "d", "refresh delay in seconds of files without a header")
	view := fs.Int("v", 0, "view mode of files without a header (0..5)")
	by := fs.String("by", "name", "group by name, pid, user, unit, container or remote")
	every := fs.String("every", "", "split the totals into time buckets of this width")
	since := fs.String("since", "", "count only the refreshes at or after this time")
	until := fs.String("until", "", "count only the refreshes before this time")
	plotPath := fs.String("plot", "", "draw the top groups over time to this .svg or .png file")
	top := fs.Int("top", 0, "print only the N largest rows")
	format := fs.String("format", "table", "output format: table, csv or json")
	nameTime := fs.String("name-time", "", "strftime pattern of the start time in the names of files without a header")
	var help bool
	fs.BoolVar(&help, "h", false, "print the help")
	fs.BoolVar(&help, "help", false, "print the help")

	// Flags may follow files, as nethogs allows options after devices.
	var files []string
	for {
		if err := fs.Parse(args); err != nil {
			return reportFailed // flag already printed the error and usage
		}
		rest := fs.Args()
		if len(rest) == 0 {
			break
		}
		consumed := len(args) - len(rest)
		if consumed > 0 && args[consumed-1] == "--" {
			files = append(files, rest...)
			break
		}
		files = append(files, rest[0])
		args = rest[1:]
	}
	if help {
		io.WriteString(stdout, reportUsage)
		return reportOK
	}
	usageErr := func(msg string) int {
		fmt.Fprintf(stderr, "gohogs report: %s\n", msg)
		fmt.Fprintln(stderr, "run 'gohogs report -h' for help")
		return reportFailed
	}
	viewSet := false
	fs.Visit(func(f *flag.Flag) { viewSet = viewSet || f.Name == "v" })
	if viewSet && (*view < report.ViewKBps || *view > report.ViewGBps) {
		return usageErr(fmt.Sprintf("view mode %d: want 0..5", *view))
	}
	groupBy, err := report.ParseGroupBy(*by)
	if err != nil {
		return usageErr(fmt.Sprintf("--by %q: want name, pid, user, unit, container or remote", *by))
	}
	q, msg := parseQuery(*every, *since, *until, now)
	if msg != "" {
		return usageErr(msg)
	}
	outFormat, err := report.ParseFormat(*format)
	if err != nil {
		return usageErr(fmt.Sprintf("--format %q: want table, csv or json", *format))
	}
	if *top < 0 {
		return usageErr(fmt.Sprintf("--top %d: want 0 or more", *top))
	}
	if len(files) == 0 {
		return usageErr("no input files (give FILE... or - for standard input)")
	}
	var chart *reportPlot
	if *plotPath != "" {
		if chart, err = openPlot(*plotPath); err != nil {
			fmt.Fprintf(stderr, "gohogs report: --plot: %s\n", strings.TrimPrefix(err.Error(), "plot: "))
			return reportFailed
		}
		defer chart.abandon()
	}

	opts := report.Options{Delay: delay.d, ViewMode: *view, NameTime: *nameTime, By: groupBy,
		Every: q.every, Since: q.since, Until: q.until, Location: now.Location()}
	if chart != nil && opts.Every == 0 {
		opts.Every = time.Minute // the chart's buckets; the totals print as they are
	}
	if !viewSet {
		opts.ViewMode = report.ViewAuto
	}
	rep := report.New(opts)
	for _, f := range files {
		var err error
		if f == "-" {
			err = rep.Add("<stdin>", stdin)
		} else {
			err = rep.AddFile(f)
		}
		if err != nil {
			fmt.Fprintf(stderr, "gohogs report: %s\n", strings.TrimPrefix(err.Error(), "report: "))
			return reportFailed
		}
	}

	for _, w := range rep.Warnings() {
		if !w.Skipped() { // view-mode guess, missing rotated file
			fmt.Fprintf(stderr, "%s: warning: %s\n", locate(w), w.Reason)
			continue
		}
		fmt.Fprintln(stderr, w.String())
	}
	buckets := slices.Values([]report.Bucket{{Rows: rep.Rows()}})
	if q.every > 0 {
		buckets = rep.BucketSeq()
	}
	if err := report.WriteBucketSeq(stdout, outFormat, groupBy, q.every, topRows(buckets, *top)); err != nil {
		fmt.Fprintf(stderr, "gohogs report: %s\n", strings.TrimPrefix(err.Error(), "report: "))
		return reportFailed
	}
	if chart != nil {
		if err := chart.write(rep, opts, *top, q); err != nil {
			fmt.Fprintf(stderr, "gohogs report: --plot %s: %s\n", *plotPath, strings.TrimPrefix(err.Error(), "plot: "))
			return reportFailed
		}
	}
	if lines, skipped := rep.Skipped(); skipped {
		dups, untimed := 0, 0
		for _, w := range rep.Warnings() {
			switch w.Kind {
			case report.WarnDuplicate:
				dups++
			case report.WarnNoTime:
				untimed += w.Count
			}
		}
		msg := fmt.Sprintf("%d lines skipped", lines)
		if dups > 0 {
			msg += fmt.Sprintf(", %d duplicate files skipped", dups)
		}
		if untimed > 0 {
			msg += fmt.Sprintf(", %d refreshes without a time left out", untimed)
		}
		fmt.Fprintf(stderr, "gohogs report: %s; the totals leave them out\n", msg)
		return reportSkipped
	}
	return reportOK
}

// locate returns "FILE:LINE" or "FILE" of a warning.
func locate(w report.Warning) string {
	if w.Line > 0 {
		return w.File + ":" + strconv.Itoa(w.Line)
	}
	return w.File
}

// topRows yields the buckets with their top n rows (all when n is 0).
func topRows(buckets iter.Seq[report.Bucket], n int) iter.Seq[report.Bucket] {
	return func(yield func(report.Bucket) bool) {
		for b := range buckets {
			if n > 0 && len(b.Rows) > n {
				b.Rows = b.Rows[:n]
			}
			if !yield(b) {
				return
			}
		}
	}
}

// reportQuery is what --every, --since and --until ask.
type reportQuery struct {
	every        time.Duration
	since, until time.Time
}

// parseQuery reads --every, --since and --until; msg says what is wrong.
func parseQuery(every, since, until string, now time.Time) (q reportQuery, msg string) {
	var err error
	if every != "" {
		if q.every, err = report.ParseEvery(every); err != nil {
			return q, "--every " + strings.TrimPrefix(err.Error(), "report: ")
		}
	}
	for _, f := range []struct {
		name, value string
		to          *time.Time
	}{{"--since", since, &q.since}, {"--until", until, &q.until}} {
		if f.value == "" {
			continue
		}
		if *f.to, err = report.ParseTime(f.value, now); err != nil {
			return q, f.name + " " + strings.TrimPrefix(err.Error(), "report: ")
		}
	}
	if !q.since.IsZero() && !q.until.IsZero() && !q.since.Before(q.until) {
		return q, fmt.Sprintf("--since %s is not before --until %s", q.since.Format(time.RFC3339), q.until.Format(time.RFC3339))
	}
	return q, ""
}

// reportPlot is the --plot file, opened before the logs are read so that
// an unwritable path fails at once; abandon removes it unless written.
type reportPlot struct {
	f       *os.File
	format  plot.Format
	written bool
}

func openPlot(path string) (*reportPlot, error) {
	format, err := plot.FormatOf(path)
	if err != nil {
		return nil, err
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	return &reportPlot{f: f, format: format}, nil
}

// write draws the report's buckets and closes the file.
func (c *reportPlot) write(rep *report.Report, opts report.Options, top int, q reportQuery) error {
	title := "gohogs report: sent + received by " + opts.By.String()
	if !q.since.IsZero() || !q.until.IsZero() {
		title += ", " + fmtBound(q.since, "start") + " to " + fmtBound(q.until, "end")
	}
	err := plot.Write(c.f, c.format, rep.BucketSeq(), plot.Options{By: opts.By, Every: opts.Every, Top: top, Title: title, Location: opts.Location})
	if cerr := c.f.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("plot: %w", cerr)
	}
	c.written = err == nil
	return err
}

func fmtBound(t time.Time, none string) string {
	if t.IsZero() {
		return none
	}
	return t.Format("2006-01-02 15:04")
}

// abandon closes and removes the file unless the chart was written.
func (c *reportPlot) abandon() {
	if !c.written {
		c.f.Close()
		os.Remove(c.f.Name())
	}
}
