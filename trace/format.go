package trace

import (
	"bufio"
	"cmp"
	"fmt"
	"io"
	"slices"
	"strconv"
	"time"
)

// ViewMode is nethogs's -v: what the SENT and RECEIVED columns show.
type ViewMode int

// The six view modes, numbered as nethogs numbers them. KB = 1024 bytes.
const (
	ViewKBps    ViewMode = 0 // KB/s over the last refresh interval
	ViewTotalKB ViewMode = 1 // total KB since the start
	ViewTotalB  ViewMode = 2 // total bytes since the start
	ViewTotalMB ViewMode = 3 // total MB since the start
	ViewMBps    ViewMode = 4 // MB/s over the last refresh interval
	ViewGBps    ViewMode = 5 // GB/s over the last refresh interval
)

// NumViewModes is how many view modes there are (for cycling through them).
const NumViewModes = 6

// IsRate reports whether the mode shows a rate (as opposed to a total).
func (m ViewMode) IsRate() bool { return m == ViewKBps || m == ViewMBps || m == ViewGBps }

// Unit is the label nethogs's interactive view prints for the mode.
func (m ViewMode) Unit() string {
	switch m {
	case ViewKBps:
		return "kB/s"
	case ViewTotalKB:
		return "kB"
	case ViewTotalB:
		return "bytes"
	case ViewTotalMB:
		return "MB"
	case ViewMBps:
		return "MB/s"
	case ViewGBps:
		return "GB/s"
	}
	return "?"
}

// Value converts a row's bytes into the number the mode shows: interval
// bytes over elapsed for rate modes, total bytes for total modes.
func (m ViewMode) Value(interval, total uint64, elapsed time.Duration) float64 {
	const kb = 1024
	rate := func(div float64) float64 {
		if elapsed <= 0 {
			return 0
		}
		return float64(interval) / elapsed.Seconds() / div
	}
	switch m {
	case ViewKBps:
		return rate(kb)
	case ViewMBps:
		return rate(kb * kb)
	case ViewGBps:
		return rate(kb * kb * kb)
	case ViewTotalKB:
		return float64(total) / kb
	case ViewTotalB:
		return float64(total)
	case ViewTotalMB:
		return float64(total) / (kb * kb)
	}
	return 0
}

// FormatValue formats v as nethogs prints its numbers: a single-precision
// float through C++ iostream's default format (%g, 6 significant digits).
func FormatValue(v float64) string {
	return strconv.FormatFloat(float64(float32(v)), 'g', 6, 64)
}

// AppendValue is FormatValue appending to b.
func AppendValue(b []byte, v float64) []byte {
	return strconv.AppendFloat(b, float64(float32(v)), 'g', 6, 64)
}

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
		fmt.Fprintf(t.w, "Adding local address: %s\n", a)
	}
	t.w.WriteString(LinkLine(dlt))
	t.w.WriteByte('\n')
	return t.w.Flush()
}

// LinkLine is nethogs's line naming the link type of a device.
func LinkLine(dlt uint32) string {
	switch dlt {
	case 1: // DLT_EN10MB
		return "Ethernet link detected"
	case 9: // DLT_PPP
		return "PPP link detected"
	case 113: // DLT_LINUX_SLL
		return "Linux Cooked Socket link detected"
	}
	return "No PPP or Ethernet link: " + strconv.FormatUint(uint64(dlt), 10)
}

// Line writes one free line (such as a header) and flushes it.
func (t *Writer) Line(s string) error {
	t.w.WriteString(s)
	t.w.WriteByte('\n')
	return t.w.Flush()
}

// Refresh writes one "Refreshing:" block for the snapshot and flushes it.
func (t *Writer) Refresh(s *Snapshot) error {
	t.w.WriteString("\nRefreshing:\n")
	for _, r := range Sorted(s, t.Mode, t.BySent) {
		b := t.line[:0]
		b = append(b, r.Name...)
		if t.Cmdline && r.Kind == KindProcess {
			b = append(b, ' ')
			b = append(b, r.Args...)
		}
		b = append(b, '/')
		b = strconv.AppendInt(b, int64(r.PID), 10)
		b = append(b, '/')
		b = strconv.AppendUint(b, uint64(r.UID), 10)
		b = append(b, '\t')
		b = AppendValue(b, t.Mode.Value(r.Sent, r.TotalSent, s.Elapsed))
		b = append(b, '\t')
		b = AppendValue(b, t.Mode.Value(r.Recv, r.TotalRecv, s.Elapsed))
		b = append(b, '\n')
		t.w.Write(b)
		t.line = b
	}
	for _, c := range s.UnknownConns {
		t.w.WriteString("Unknown connection: ")
		t.w.WriteString(c)
		t.w.WriteByte('\n')
	}
	return t.w.Flush()
}
