package main

import (
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/gohogs/gohogs/trace/report"
)

// Exit codes of `gohogs report`.
const (
	reportOK      = 0 // report printed, every line understood
	reportFailed  = 1 // usage error or an input that cannot be read; no report
	reportSkipped = 3 // report printed, but some lines (or duplicate files) were skipped
)

const reportUsage = `usage: gohogs report [-d SECONDS] [-v MODE] [--by name|pid|user] [--top N]
                     [--format table|csv|json] [--name-time PATTERN] FILE...

Sums trace logs written by gohogs (-t, --output) or nethogs (-t) into
per-process totals: bytes sent and received, peak and mean rate, the
refreshes and time each was seen. FILE - reads standard input; gzip-compressed
logs are read as they are. Many files (a day of hourly logs) make one report.

Totals are bytes, not a sum of rates: in the rate view modes (0 KB/s, 4 MB/s,
5 GB/s) each refresh counts value x unit x delay; in the cumulative modes
(1 KB, 2 B, 3 MB) each process counts its last value in its run, and the
files of one gohogs run (rotated with --rotate) continue one another.
KB = 1024 bytes.

Files written by gohogs --output start with a header line such as
  # gohogs delay=1s view=0 run=20261128T041304.123Z seq=1
which gives the delay and view mode of that file (overriding -d and -v) and
ties a run's rotated files together. nethogs logs have none: give -d and -v
as nethogs had them (default 1 second, view 0).

Flags (also with one dash; flags and files may be mixed):
  -d SECONDS          refresh delay of files without a header; fractions
                      allowed (0.5), or a Go duration (500ms). Default 1.
  -v MODE             view mode of files without a header: 0 KB/s, 1 total KB,
                      2 total bytes, 3 total MB, 4 MB/s, 5 GB/s. When not
                      given, 0 is assumed and a warning says when the numbers
                      only grow, as in a cumulative mode.
  --by name|pid|user  group by program name (default), by process (pid, uid
                      and name), or by uid. The rows of traffic without an
                      owner (unknown TCP, unknown UDP, and nethogs's rows named
                      after a connection) keep their own names; by user they
                      are uid "-".
  --top N             print only the N largest rows (0: all).
  --format FORMAT     table (default; human units), csv or json (exact bytes
                      as integers, rates in bytes per second).
  --name-time PATTERN the strftime pattern (%Y %m %d %H %M %S %b ...) that
                      named files without a header after their start time,
                      local time: gives their refresh times. For the cron
                      job's logs: --name-time %b_%d_%Y_%H_%M_%S
  -h, --help          print this help.

A line that is not understood is reported on standard error as FILE:LINE:
reason and skipped; the report is still printed. A file given twice is
counted once. Warnings that skip nothing: a rotated file of a run missing
between those given, a name that --name-time does not match, and (without
-v) numbers that look cumulative.
Exit status: 0 report printed, every line read; 1 usage error or a file that
cannot be read (no report); 3 report printed but lines were skipped.
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
	fs := flag.NewFlagSet("gohogs report", flag.ContinueOnError)
	fs.SetOutput(stderr)
	// On a bad flag, flag prints the error and then this; -h prints all.
	fs.Usage = func() { fmt.Fprintln(stderr, "run 'gohogs report -h' for help") }
	delay := &delayFlag{d: time.Second}
	fs.Var(delay, "d", "refresh delay in seconds of files without a header")
	view := fs.Int("v", 0, "view mode of files without a header (0..5)")
	by := fs.String("by", "name", "group by name, pid or user")
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
		return usageErr(fmt.Sprintf("--by %q: want name, pid or user", *by))
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

	opts := report.Options{Delay: delay.d, ViewMode: *view, NameTime: *nameTime, By: groupBy}
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

	rows := rep.Rows()
	if *top > 0 && len(rows) > *top {
		rows = rows[:*top]
	}
	for _, w := range rep.Warnings() {
		if !w.Skipped() { // view-mode guess, missing rotated file
			fmt.Fprintf(stderr, "%s: warning: %s\n", locate(w), w.Reason)
			continue
		}
		fmt.Fprintln(stderr, w.String())
	}
	if err := report.Write(stdout, outFormat, groupBy, rows); err != nil {
		fmt.Fprintf(stderr, "gohogs report: %s\n", strings.TrimPrefix(err.Error(), "report: "))
		return reportFailed
	}
	if lines, skipped := rep.Skipped(); skipped {
		dups := 0
		for _, w := range rep.Warnings() {
			if w.Kind == report.WarnDuplicate {
				dups++
			}
		}
		msg := fmt.Sprintf("%d lines skipped", lines)
		if dups > 0 {
			msg += fmt.Sprintf(", %d duplicate files skipped", dups)
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
