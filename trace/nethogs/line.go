package nethogs

import (
	"errors"
	"strconv"
	"strings"
)

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
	KindHeader                  // a comment starting with HeaderPrefix: gohogs's header
	KindComment                 // any other line starting with '#'
)

// HeaderPrefix starts the header line gohogs writes first in each file, a
// '#' comment that nethogs-log readers which take only tab-separated lines
// skip. ParseLine tells it from other comments; package report parses its
// fields.
const HeaderPrefix = "# gohogs"

// Line is one parsed trace line.
type Line struct {
	Kind Kind
	// Proc is set for KindProcess.
	Proc Proc
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

// ErrMalformed is what the errors of ParseLine wrap.
var ErrMalformed = errors.New("malformed line")

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
	case line == RefreshLine:
		return Line{Kind: KindRefreshing}, nil
	case strings.HasPrefix(line, unknownConnPrefix):
		return Line{Kind: KindUnknownConn}, nil
	case strings.HasPrefix(line, addressPrefix),
		strings.HasSuffix(line, " link detected"),
		strings.HasPrefix(line, noLinkPrefix):
		return Line{Kind: KindStartup}, nil
	case line[0] == '#':
		if IsHeader(line) {
			return Line{Kind: KindHeader}, nil
		}
		return Line{Kind: KindComment}, nil
	}
	for _, d := range diagnostics {
		if strings.HasPrefix(line, d) {
			return Line{Kind: KindDiagnostic}, nil
		}
	}
	return Line{}, Malformed("not a trace line")
}

// IsHeader reports whether line is a header line: HeaderPrefix followed by
// a space, a tab or the end of the line (a trailing newline or CR aside).
func IsHeader(line string) bool {
	rest, ok := strings.CutPrefix(strings.TrimRight(line, "\r\n"), HeaderPrefix)
	return ok && (rest == "" || rest[0] == ' ' || rest[0] == '\t')
}

type malformedError struct{ reason string }

func (e malformedError) Error() string { return e.reason }
func (e malformedError) Unwrap() error { return ErrMalformed }

// Malformed returns an error that says reason and wraps ErrMalformed, for
// readers that find a line out of place or too long.
func Malformed(reason string) error { return malformedError{reason} }

// parseProc parses NAME/PID/UID<TAB>SENT<TAB>RECV, splitting the first field
// on its last two '/' since NAME may contain '/'.
func parseProc(line string) (Proc, error) {
	id, rest, _ := strings.Cut(line, "\t")
	sentS, recvS, ok := strings.Cut(rest, "\t")
	if !ok {
		return Proc{}, Malformed("process row needs 3 tab-separated fields")
	}
	if strings.IndexByte(recvS, '\t') >= 0 {
		return Proc{}, Malformed("process row has more than 3 tab-separated fields")
	}
	i := strings.LastIndexByte(id, '/')
	if i < 0 {
		return Proc{}, Malformed("process field is not NAME/PID/UID")
	}
	uidS := id[i+1:]
	j := strings.LastIndexByte(id[:i], '/')
	if j < 0 {
		return Proc{}, Malformed("process field is not NAME/PID/UID")
	}
	name, pidS := id[:j], id[j+1:i]
	pid, err := strconv.ParseUint(pidS, 10, 31)
	if err != nil || !digits(pidS) {
		return Proc{}, Malformed("bad PID " + strconv.Quote(pidS))
	}
	uid, err := strconv.ParseUint(uidS, 10, 32)
	if err != nil || !digits(uidS) {
		return Proc{}, Malformed("bad UID " + strconv.Quote(uidS))
	}
	sent, ok := parseValue(sentS)
	if !ok {
		return Proc{}, Malformed("bad SENT " + strconv.Quote(sentS))
	}
	recv, ok := parseValue(recvS)
	if !ok {
		return Proc{}, Malformed("bad RECV " + strconv.Quote(recvS))
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
