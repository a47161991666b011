package report

import "github.com/gohogs/gohogs/trace/nethogs"

// View modes, as nethogs's -v numbers them (see nethogs.ViewMode), as the
// ints that Options.ViewMode and Header.ViewMode hold. KB is 1024 bytes, MB
// 1024² and GB 1024³ bytes.
const (
	ViewKBps  = int(nethogs.ViewKBps)    // rate, KB/s (nethogs's default)
	ViewKB    = int(nethogs.ViewTotalKB) // cumulative, KB
	ViewBytes = int(nethogs.ViewTotalB)  // cumulative, bytes
	ViewMB    = int(nethogs.ViewTotalMB) // cumulative, MB
	ViewMBps  = int(nethogs.ViewMBps)    // rate, MB/s
	ViewGBps  = int(nethogs.ViewGBps)    // rate, GB/s
)

// ViewAuto, as Options.ViewMode, means no view mode was given: read files
// without a header as ViewKBps, and warn when the numbers look cumulative.
const ViewAuto = -1

// Unit returns the bytes one unit of the view mode stands for (per second in
// the rate modes), and whether the mode is cumulative. It returns 0 for an
// unknown view mode.
func Unit(view int) (bytes float64, cumulative bool) {
	m := nethogs.ViewMode(view)
	return m.UnitBytes(), m.Valid() && !m.IsRate()
}

// Kind is what a trace line is (see nethogs.Kind).
type Kind = nethogs.Kind

// The kinds of trace lines.
const (
	KindBlank       = nethogs.KindBlank       // empty line (before each refresh)
	KindRefreshing  = nethogs.KindRefreshing  // "Refreshing:", starts a refresh block
	KindProcess     = nethogs.KindProcess     // NAME/PID/UID<TAB>SENT<TAB>RECV
	KindUnknownConn = nethogs.KindUnknownConn // "Unknown connection: ..." after a block's process rows
	KindStartup     = nethogs.KindStartup     // "Adding local address: ...", "... link detected", "No PPP or Ethernet link: N"
	KindDiagnostic  = nethogs.KindDiagnostic  // a message nethogs writes to stderr, found in logs made with &>
	KindHeader      = nethogs.KindHeader      // the gohogs header (see Header)
	KindComment     = nethogs.KindComment     // any other line starting with '#'
)

// Line is one parsed trace line.
type Line struct {
	Kind Kind
	// Proc is set for KindProcess.
	Proc Proc
	// Header is set for KindHeader.
	Header Header
}

// Proc is one process row of a refresh block (see nethogs.Proc).
type Proc = nethogs.Proc

// ErrMalformed is what the errors of ParseLine wrap.
var ErrMalformed = nethogs.ErrMalformed

// ParseLine parses one line of a trace log (without its newline; a trailing
// CR is ignored) as nethogs.ParseLine does, and the fields of a header line.
// A malformed line, a header with invalid fields included, returns an error
// wrapping ErrMalformed that says why. ParseLine never panics and does not
// allocate for process rows beyond the returned Line.
func ParseLine(line string) (Line, error) {
	ln, err := nethogs.ParseLine(line)
	if err != nil {
		return Line{}, err
	}
	out := Line{Kind: ln.Kind, Proc: ln.Proc}
	if ln.Kind == KindHeader {
		if out.Header, err = parseHeader(line); err != nil {
			return Line{}, err
		}
	}
	return out, nil
}
