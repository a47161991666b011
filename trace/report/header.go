package report

import (
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/gohogs/gohogs/trace/nethogs"
)

// HeaderPrefix starts every header line. A nethogs-log parser that reads only
// tab-separated lines skips it; this package recognises it.
const HeaderPrefix = nethogs.HeaderPrefix

// RunLayout is the time layout of Header.Run as NewRun writes it: the start
// time of the gohogs run in UTC with milliseconds, e.g. 20261128T041304.123Z.
const RunLayout = "20060102T150405.000Z"

// Header is the first line gohogs writes in every file it writes with
// --output (after a rotation and after a SIGHUP reopen too). It says how to
// turn the file's numbers into bytes and which run the file belongs to.
//
// The line is
//
//	# gohogs delay=1s view=0 run=20261128T041304.123Z seq=1
//
// Fields are space-separated key=value pairs after "# gohogs"; delay is a Go
// duration (time.ParseDuration: 1s, 500ms, 2.5s), view is the nethogs view
// mode 0..5, run identifies the run (its start time, see NewRun; no spaces),
// seq is the file's number in the run from 1. delay and view are required;
// run and seq may be absent (then the file is a run of its own). Unknown keys
// are ignored, so later versions may add fields.
type Header struct {
	// Delay is the refresh delay of the run.
	Delay time.Duration
	// ViewMode is the nethogs view mode of the numbers (see ViewKBps...).
	ViewMode int
	// Run identifies one gohogs run: its start time as NewRun writes it,
	// optionally followed by "-" and anything without spaces (the pid, say)
	// to tell apart runs started in the same millisecond. Files with the
	// same Run are parts of one run.
	Run string
	// Seq is the file number in the run, from 1 (0: unknown).
	Seq int
}

// NewRun returns the Run identifier of a run started at t: t in UTC in the
// RunLayout format.
func NewRun(t time.Time) string {
	return t.UTC().Format(RunLayout)
}

// Start returns the run's start time when Run was written by NewRun.
func (h Header) Start() (time.Time, bool) {
	if h.Run == "" {
		return time.Time{}, false
	}
	// Anything after the Z (a writer may add "-PID" to tell apart runs
	// started in the same millisecond) is not part of the time. Parsing
	// accepts a fractional second after the seconds even though the layout
	// has none, so any precision is read.
	run := h.Run
	if i := strings.IndexByte(run, 'Z'); i >= 0 {
		run = run[:i+1]
	}
	t, err := time.Parse("20060102T150405Z07:00", run)
	if err != nil {
		return time.Time{}, false
	}
	return t, true
}

// String returns the header line, without a newline. Whitespace in Run is
// replaced by '_' so that the line stays parseable; run= and seq= are left
// out when Run is empty or Seq is 0.
func (h Header) String() string {
	var b strings.Builder
	b.WriteString(HeaderPrefix)
	b.WriteString(" delay=")
	b.WriteString(h.Delay.String())
	b.WriteString(" view=")
	b.WriteString(strconv.Itoa(h.ViewMode))
	if h.Run != "" {
		b.WriteString(" run=")
		// Replace whitespace (as strings.Fields sees it) and keep every
		// other byte as it is, valid UTF-8 or not.
		run := h.Run
		for len(run) > 0 {
			r, n := utf8.DecodeRuneInString(run)
			if unicode.IsSpace(r) {
				b.WriteByte('_')
			} else {
				b.WriteString(run[:n])
			}
			run = run[n:]
		}
	}
	if h.Seq != 0 {
		b.WriteString(" seq=")
		b.WriteString(strconv.Itoa(h.Seq))
	}
	return b.String()
}

// ParseHeader parses a header line (a trailing newline or CR is allowed). It
// returns false for a line that is not a gohogs header or whose fields are
// invalid: delay missing or not positive, view missing or outside 0..5, seq
// negative.
func ParseHeader(line string) (Header, bool) {
	if !nethogs.IsHeader(line) {
		return Header{}, false
	}
	h, err := parseHeader(line)
	return h, err == nil
}

// parseHeader parses the fields of a header line (one nethogs.IsHeader
// accepts); an error wraps ErrMalformed and says which field is wrong.
func parseHeader(line string) (Header, error) {
	rest := strings.TrimPrefix(strings.TrimRight(line, "\r\n"), HeaderPrefix)
	var h Header
	var haveDelay, haveView bool
	for _, f := range strings.Fields(rest) {
		k, v, ok := strings.Cut(f, "=")
		if !ok {
			return Header{}, nethogs.Malformed("header field " + strconv.Quote(f) + " is not key=value")
		}
		switch k {
		case "delay":
			d, err := time.ParseDuration(v)
			if err != nil || d <= 0 {
				return Header{}, nethogs.Malformed("header delay " + strconv.Quote(v) + " is not a positive duration")
			}
			h.Delay, haveDelay = d, true
		case "view":
			n, err := strconv.Atoi(v)
			if err != nil || !nethogs.ViewMode(n).Valid() {
				return Header{}, nethogs.Malformed("header view " + strconv.Quote(v) + " is not a view mode 0..5")
			}
			h.ViewMode, haveView = n, true
		case "run":
			h.Run = v
		case "seq":
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				return Header{}, nethogs.Malformed("header seq " + strconv.Quote(v) + " is not a file number")
			}
			h.Seq = n
		}
	}
	if !haveDelay || !haveView {
		return Header{}, nethogs.Malformed("header needs delay= and view=")
	}
	return h, nil
}
