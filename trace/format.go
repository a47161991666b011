package trace

import (
	"bufio"
	"cmp"
	"io"
	"slices"

	"github.com/gohogs/gohogs/trace/nethogs"
)

// ViewMode is nethogs's -v: what the SENT and RECEIVED columns show. It is
// the grammar's nethogs.ViewMode, named here for the callers of Sorted and
// Writer.
type ViewMode = nethogs.ViewMode

// The six view modes, numbered as nethogs numbers them. KB = 1024 bytes.
const (
	ViewKBps    = nethogs.ViewKBps    // KB/s over the last refresh interval
	ViewTotalKB = nethogs.ViewTotalKB // total KB since the start
	ViewTotalB  = nethogs.ViewTotalB  // total bytes since the start
	ViewTotalMB = nethogs.ViewTotalMB // total MB since the start
	ViewMBps    = nethogs.ViewMBps    // MB/s over the last refresh interval
	ViewGBps    = nethogs.ViewGBps    // GB/s over the last refresh interval
)

// NumViewModes is how many view modes there are (for cycling through them).
const NumViewModes = nethogs.NumViewModes

// FormatValue formats v as nethogs prints its numbers (nethogs.FormatValue).
func FormatValue(v float64) string { return nethogs.FormatValue(v) }

// AppendValue is FormatValue appending to b.
func AppendValue(b []byte, v float64) []byte { return nethogs.AppendValue(b, v) }

// Sorted returns the snapshot's rows in nethogs's trace order: by RECV
// descending (SENT with bySent), ties broken by the other column, then name,
// then pid, so that the order is deterministic; the unknown rows come last,
// UDP before TCP as nethogs lists them. The values compared are the ones the
// mode shows.
func Sorted(s *Snapshot, mode ViewMode, bySent bool) []Row {
	rows := slices.Clone(s.Rows)
	val := func(r *Row) (primary, secondary float64) {
		sent := mode.Value(r.Sent, r.TotalSent, s.Elapsed)
		recv := mode.Value(r.Recv, r.TotalRecv, s.Elapsed)
		if bySent {
			return sent, recv
		}
		return recv, sent
	}
	slices.SortStableFunc(rows, func(a, b Row) int {
		if c := cmp.Compare(a.Kind.unknownRank(), b.Kind.unknownRank()); c != 0 {
			return c
		}
		ap, as := val(&a)
		bp, bs := val(&b)
		if c := cmp.Compare(bp, ap); c != 0 {
			return c
		}
		if c := cmp.Compare(bs, as); c != 0 {
			return c
		}
		if c := cmp.Compare(a.Name, b.Name); c != 0 {
			return c
		}
		return cmp.Compare(a.PID, b.PID)
	})
	return rows
}

// Writer writes refreshes in nethogs's trace format. Each block is flushed
// when written, so a pipe or a file sees it at once.
type Writer struct {
	w *bufio.Writer
	// Mode is the view mode (-v).
	Mode ViewMode
	// BySent sorts by the SENT column (-s) instead of RECEIVED.
	BySent bool
	// Cmdline appends the command line arguments to the name (-l).
	Cmdline bool
	line    []byte
}

// NewWriter returns a Writer writing to w.
func NewWriter(w io.Writer) *Writer {
	return &Writer{w: bufio.NewWriterSize(w, 64<<10)}
}

// StartupLines writes nethogs's start-up lines for one device: its local
// addresses, then the link line for the pcap link type (DLT number).
func (t *Writer) StartupLines(addrs []string, dlt uint32) error {
	for _, a := range addrs {
		t.line = append(nethogs.AppendAddressLine(t.line[:0], a), '\n')
		t.w.Write(t.line)
	}
	t.w.WriteString(LinkLine(dlt))
	t.w.WriteByte('\n')
	return t.w.Flush()
}

// LinkLine is nethogs's line naming the link type of a device
// (nethogs.LinkLine).
func LinkLine(dlt uint32) string { return nethogs.LinkLine(dlt) }

// Line writes one free line (such as a header) and flushes it.
func (t *Writer) Line(s string) error {
	t.w.WriteString(s)
	t.w.WriteByte('\n')
	return t.w.Flush()
}

// Refresh writes one "Refreshing:" block for the snapshot and flushes it.
func (t *Writer) Refresh(s *Snapshot) error {
	t.w.WriteString("\n" + nethogs.RefreshLine + "\n")
	for _, r := range Sorted(s, t.Mode, t.BySent) {
		p := nethogs.Proc{Name: r.Name, PID: r.PID, UID: r.UID,
			Sent: t.Mode.Value(r.Sent, r.TotalSent, s.Elapsed), Recv: t.Mode.Value(r.Recv, r.TotalRecv, s.Elapsed)}
		if t.Cmdline && r.Kind == KindProcess {
			p.Name += " " + r.Args
		}
		t.line = append(nethogs.AppendProc(t.line[:0], p), '\n')
		t.w.Write(t.line)
	}
	for _, c := range s.UnknownConns {
		t.line = append(nethogs.AppendUnknownConn(t.line[:0], c.Local, c.Remote), '\n')
		t.w.Write(t.line)
	}
	return t.w.Flush()
}
