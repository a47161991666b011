package report

import (
	"errors"
	"math"
	"strconv"
	"strings"
)

// View modes, as nethogs's -v numbers them. KB is 1024 bytes, MB 1024² and
// GB 1024³ bytes.
const (
	ViewKBps  = 0 // rate, KB/s (nethogs's default)
	ViewKB    = 1 // cumulative, KB
	ViewBytes = 2 // cumulative, bytes
	ViewMB    = 3 // cumulative, MB
	ViewMBps  = 4 // rate, MB/s
	ViewGBps  = 5 // rate, GB/s
)

// ViewAuto, as Options.ViewMode, means no view mode was given: read files
// without a header as ViewKBps, and warn when the numbers look cumulative.
const ViewAuto = -1

// Unit returns the bytes one unit of the view mode stands for (per second in
// the rate modes), and whether the mode is cumulative. It returns 0 for an
// unknown view mode.
func Unit(view int) (bytes float64, cumulative bool) {
	switch view {
	case ViewKBps:
		return 1024, false
	case ViewKB:
		return 1024, true
	case ViewBytes:
		return 1, true
	case ViewMB:
		return 1024 * 1024, true
	case ViewMBps:
		return 1024 * 1024, false
	case ViewGBps:
		return 1024 * 1024 * 1024, false
	}
	return 0, false
}

// Kind is what a trace line is.
type Kind int

// The kinds of trace lines.
const (
	KindBlank       Kind = iota // empty line (before each refresh)
	KindRefreshing              // "Refreshing:", starts a refresh block
	KindProcess                 // NAME/PID/UID<TAB>SENT<TAB>RECV
	KindUnknownConn             // "Unknown connection: ..." after a block's process rows
	KindStartup                 // "Adding local address: ...", "... link detected", "No PPP or Ethernet link: N"
	KindDiagnostic              // a message nethogs writes to stderr, found in logs made with &>
	KindHeader                  // the gohogs header (see Header)
	KindComment                 // any other line starting with '#'
)

// Line is one parsed trace line.
type Line struct {
	Kind Kind
	// Proc is set for KindProcess.
	Proc Proc
	// Header is set for KindHeader.
	Header Header
}

// Proc is one process row of a refresh block.
type Proc struct {
	// Name is the program name as logged: argv[0], with the arguments after
	// a space when nethogs ran with -l; for the rows nethogs adds for traffic
	// without an owner, "unknown TCP", "unknown UDP", or a connection
	// ("127.0.0.1:44770-127.0.0.1:7101"). It may contain '/' and spaces.
	Name string
	// PID is the process id (0 for the rows without a process).
	PID int
	// UID is the user id.
	UID uint32
	// Sent and Recv are the numbers as logged, in the view mode's unit.
	Sent, Recv float64
}

// Owned reports whether the row belongs to a process (PID > 0), not to
// traffic nethogs could not attribute.
func (p Proc) Owned() bool { return p.PID > 0 }

// Errors ParseLine wraps to say why a line is malformed.
var (
	ErrMalformed = errors.New("malformed line")
)

// diagnostics are the starts of the messages nethogs 0.8/0.9 writes to
// stderr (and to stdout in -x mode), which appear in logs made with &>.
var diagnostics = []string{
	"Waiting for first packet to arrive",
	"Error ",
	"Error:",
	"Unknown linktype",
	"Failed to ",
	"getifaddrs failed",
	"creating socket failed",
	"?  new connection",
	":( ",
	":) ",
	";) ",
	"No devices to monitor",
}

// ParseLine parses one line of a trace log (without its newline; a trailing
// CR is ignored). A malformed line returns an error wrapping ErrMalformed
// that says why. ParseLine never panics and does not allocate for process
// rows beyond the returned Line.
func ParseLine(line string) (Line, error) {
	line = strings.TrimSuffix(line, "\r")
	if line == "" {
		return Line{Kind: KindBlank}, nil
	}
	if strings.IndexByte(line, '\t') >= 0 {
		p, err := parseProc(line)
		if err != nil {
			return Line{}, err
		}
		return Line{Kind: KindProcess, Proc: p}, nil
	}
	switch {
	case line == "Refreshing:":
		return Line{Kind: KindRefreshing}, nil
	case strings.HasPrefix(line, "Unknown connection: "):
		return Line{Kind: KindUnknownConn}, nil
	case strings.HasPrefix(line, "Adding local address: "),
		strings.HasSuffix(line, " link detected"),
		strings.HasPrefix(line, "No PPP or Ethernet link: "):
		return Line{Kind: KindStartup}, nil
	case line[0] == '#':
		h, isHeader, err := parseHeader(line)
		if err != nil {
			return Line{}, malformed(err.Error())
		}
		if isHeader {
			return Line{Kind: KindHeader, Header: h}, nil
		}
		return Line{Kind: KindComment}, nil
	}
	for _, d := range diagnostics {
		if strings.HasPrefix(line, d) {
			return Line{Kind: KindDiagnostic}, nil
		}
	}
	return Line{}, malformed("not a trace line")
}

type malformedError struct{ reason string }

func (e malformedError) Error() string { return e.reason }
func (e malformedError) Unwrap() error { return ErrMalformed }

func malformed(reason string) error { return malformedError{reason} }

// parseProc parses NAME/PID/UID<TAB>SENT<TAB>RECV, splitting the first field
// on its last two '/' since NAME may contain '/'.
func parseProc(line string) (Proc, error) {
	id, rest, _ := strings.Cut(line, "\t")
	sentS, recvS, ok := strings.Cut(rest, "\t")
	if !ok {
		return Proc{}, malformed("process row needs 3 tab-separated fields")
	}
	if strings.IndexByte(recvS, '\t') >= 0 {
		return Proc{}, malformed("process row has more than 3 tab-separated fields")
	}
	i := strings.LastIndexByte(id, '/')
	if i < 0 {
		return Proc{}, malformed("process field is not NAME/PID/UID")
	}
	uidS := id[i+1:]
	j := strings.LastIndexByte(id[:i], '/')
	if j < 0 {
		return Proc{}, malformed("process field is not NAME/PID/UID")
	}
	name, pidS := id[:j], id[j+1:i]
	pid, err := strconv.ParseUint(pidS, 10, 31)
	if err != nil || !digits(pidS) {
		return Proc{}, malformed("bad PID " + strconv.Quote(pidS))
	}
	uid, err := strconv.ParseUint(uidS, 10, 32)
	if err != nil || !digits(uidS) {
		return Proc{}, malformed("bad UID " + strconv.Quote(uidS))
	}
	sent, err := parseValue(sentS)
	if err != nil {
		return Proc{}, malformed("bad SENT " + strconv.Quote(sentS))
	}
	recv, err := parseValue(recvS)
	if err != nil {
		return Proc{}, malformed("bad RECV " + strconv.Quote(recvS))
	}
	return Proc{Name: name, PID: int(pid), UID: uint32(uid), Sent: sent, Recv: recv}, nil
}

// digits reports whether s is non-empty and all ASCII digits (ParseUint
// accepts underscores in base 0 only, but be explicit).
func digits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// parseValue parses a number as C++ iostreams print it (%g): not negative,
// and no larger than a float32 (nethogs's numbers are float32s), so that
// sums and rates stay finite.
func parseValue(s string) (float64, error) {
	if s == "" || strings.TrimSpace(s) != s {
		return 0, ErrMalformed
	}
	// Reject Go-only syntax (hex floats, underscores, inf/nan words).
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c == '.' || c == 'e' || c == 'E' || c == '+' || c == '-') {
			return 0, ErrMalformed
		}
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || !(v >= 0 && v <= math.MaxFloat32) { // nethogs prints float32s

		return 0, ErrMalformed
	}
	return v, nil
}
