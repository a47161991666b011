package report

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Format is an output format of the report.
type Format int

// The output formats.
const (
	FormatTable Format = iota // aligned columns, human units
	FormatCSV                 // one header line, then one line per row, exact bytes
	FormatJSON                // {"group_by":..., "rows":[...]}, exact bytes
)

// ParseFormat parses "table", "csv" or "json".
func ParseFormat(s string) (Format, error) {
	switch s {
	case "table":
		return FormatTable, nil
	case "csv":
		return FormatCSV, nil
	case "json":
		return FormatJSON, nil
	}
	return 0, fmt.Errorf("report: unknown format %q (want table, csv or json)", s)
}

// Write writes rows in format f.
func Write(w io.Writer, f Format, by GroupBy, rows []Row) error {
	switch f {
	case FormatCSV:
		return WriteCSV(w, by, rows)
	case FormatJSON:
		return WriteJSON(w, by, rows)
	}
	return WriteTable(w, by, rows)
}

// HumanBytes formats a byte count with binary units and 3 significant
// digits: "512 B", "1.50 KiB", "12.3 MiB", "993 GiB".
func HumanBytes(b float64) string {
	units := []string{"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"}
	if b < 1024 {
		return strconv.FormatFloat(max(b, 0), 'f', 0, 64) + " B"
	}
	i := 0
	for b >= 1024 && i < len(units)-1 {
		b /= 1024
		i++
	}
	// Round first so that 1023.9 KiB reads "1.00 MiB", not "1024 KiB".
	if b >= 999.5 && i < len(units)-1 {
		b /= 1024
		i++
	}
	prec := 0
	switch {
	case b < 9.995:
		prec = 2
	case b < 99.95:
		prec = 1
	}
	return strconv.FormatFloat(b, 'f', prec, 64) + " " + units[i]
}

// HumanRate formats bytes per second like HumanBytes, with "/s".
func HumanRate(bps float64) string { return HumanBytes(bps) + "/s" }

// fmtTime formats t in UTC, RFC 3339 with the fraction of a second when
// there is one; "" for the zero time.
func fmtTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

func fmtUID(uid int64) string {
	if uid < 0 {
		return "-"
	}
	return strconv.FormatInt(uid, 10)
}

// printable escapes control characters and invalid UTF-8 so that a name
// logged from an untrusted argv[0] cannot drive the terminal.
func printable(s string) string {
	ok := true
	for _, r := range s {
		if r == utf8.RuneError || !unicode.IsPrint(r) && r != ' ' {
			ok = false
			break
		}
	}
	if ok {
		return s
	}
	q := strconv.QuoteToGraphic(s)
	return q[1 : len(q)-1]
}

// WriteTable writes rows as aligned columns with human units; the name
// column comes last, as long names (-l, pseudo-processes) would push the
// numbers apart. FIRST and LAST are shown when some row has them.
func WriteTable(w io.Writer, by GroupBy, rows []Row) error {
	withTimes := false
	for _, r := range rows {
		withTimes = withTimes || !r.First.IsZero()
	}
	var head []string
	switch by {
	case ByPID:
		head = []string{"PID", "UID"}
	case ByUser:
		head = []string{"UID", "PROCS"}
	default:
		head = []string{"PROCS"}
	}
	head = append(head, "SENT", "RECEIVED", "TOTAL", "PEAK SENT", "PEAK RECV", "MEAN SENT", "MEAN RECV", "SEEN")
	if withTimes {
		head = append(head, "FIRST", "LAST")
	}
	if by != ByUser {
		head = append(head, "NAME")
	}
	table := [][]string{head}
	for _, r := range rows {
		var c []string
		switch by {
		case ByPID:
			c = []string{strconv.Itoa(r.PID), fmtUID(r.UID)}
		case ByUser:
			c = []string{fmtUID(r.UID), strconv.Itoa(r.Processes)}
		default:
			c = []string{strconv.Itoa(r.Processes)}
		}
		c = append(c, HumanBytes(float64(r.Sent)), HumanBytes(float64(r.Recv)), HumanBytes(float64(r.Total())),
			HumanRate(r.PeakSent), HumanRate(r.PeakRecv), HumanRate(r.MeanSent), HumanRate(r.MeanRecv),
			r.Seen.Round(time.Millisecond).String())
		if withTimes {
			first, last := "-", "-"
			if !r.First.IsZero() {
				first, last = r.First.UTC().Format(time.RFC3339), r.Last.UTC().Format(time.RFC3339)
			}
			c = append(c, first, last)
		}
		if by != ByUser {
			c = append(c, printable(r.Name))
		}
		table = append(table, c)
	}
	width := make([]int, len(head))
	for _, c := range table {
		for i, s := range c {
			width[i] = max(width[i], utf8.RuneCountInString(s))
		}
	}
	var b strings.Builder
	for _, c := range table {
		b.Reset()
		for i, s := range c {
			pad := strings.Repeat(" ", width[i]-utf8.RuneCountInString(s))
			switch {
			case i == len(c)-1 && by != ByUser: // name: left, no trailing spaces
				b.WriteString(s)
			case head[i] == "FIRST" || head[i] == "LAST":
				b.WriteString(s)
				if i < len(c)-1 {
					b.WriteString(pad)
				}
			default:
				b.WriteString(pad + s)
			}
			if i < len(c)-1 {
				b.WriteString("  ")
			}
		}
		b.WriteByte('\n')
		if _, err := io.WriteString(w, b.String()); err != nil {
			return fmt.Errorf("report: write table: %w", err)
		}
	}
	return nil
}

func fmtRate(v float64) string { return strconv.FormatFloat(v, 'f', 3, 64) }

// CSVHeader returns the CSV column names for a grouping.
func CSVHeader(by GroupBy) []string {
	var h []string
	switch by {
	case ByPID:
		h = []string{"pid", "uid", "name"}
	case ByUser:
		h = []string{"uid", "processes"}
	default:
		h = []string{"name", "processes"}
	}
	return append(h, "sent_bytes", "recv_bytes", "total_bytes",
		"peak_sent_bytes_per_s", "peak_recv_bytes_per_s", "mean_sent_bytes_per_s", "mean_recv_bytes_per_s",
		"refreshes", "seen_seconds", "first", "last")
}

// WriteCSV writes rows as CSV (RFC 4180) with the CSVHeader columns: bytes
// as integers, rates in bytes per second, times in RFC 3339 (empty when
// unknown), uid -1 for the rows without a process.
func WriteCSV(w io.Writer, by GroupBy, rows []Row) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(CSVHeader(by)); err != nil {
		return fmt.Errorf("report: write csv: %w", err)
	}
	for _, r := range rows {
		var c []string
		switch by {
		case ByPID:
			c = []string{strconv.Itoa(r.PID), strconv.FormatInt(r.UID, 10), r.Name}
		case ByUser:
			c = []string{strconv.FormatInt(r.UID, 10), strconv.Itoa(r.Processes)}
		default:
			c = []string{r.Name, strconv.Itoa(r.Processes)}
		}
		c = append(c, strconv.FormatInt(r.Sent, 10), strconv.FormatInt(r.Recv, 10), strconv.FormatInt(r.Total(), 10),
			fmtRate(r.PeakSent), fmtRate(r.PeakRecv), fmtRate(r.MeanSent), fmtRate(r.MeanRecv),
			strconv.Itoa(r.Refreshes), strconv.FormatFloat(r.Seen.Seconds(), 'f', -1, 64),
			fmtTime(r.First), fmtTime(r.Last))
		if err := cw.Write(c); err != nil {
			return fmt.Errorf("report: write csv: %w", err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("report: write csv: %w", err)
	}
	return nil
}

// finite clamps v to a finite number, as JSON has no infinities.
func finite(v float64) float64 {
	switch {
	case math.IsNaN(v):
		return 0
	case v > math.MaxFloat64:
		return math.MaxFloat64
	}
	return v
}

// JSONRow is one row of the JSON output. Name, PID and UID are present when
// the grouping has them; First and Last when known.
type JSONRow struct {
	Name      *string `json:"name,omitempty"`
	PID       *int    `json:"pid,omitempty"`
	UID       *int64  `json:"uid,omitempty"`
	Processes int     `json:"processes"`
	Sent      int64   `json:"sent_bytes"`
	Recv      int64   `json:"recv_bytes"`
	Total     int64   `json:"total_bytes"`
	PeakSent  float64 `json:"peak_sent_bytes_per_s"`
	PeakRecv  float64 `json:"peak_recv_bytes_per_s"`
	MeanSent  float64 `json:"mean_sent_bytes_per_s"`
	MeanRecv  float64 `json:"mean_recv_bytes_per_s"`
	Refreshes int     `json:"refreshes"`
	Seen      float64 `json:"seen_seconds"`
	First     string  `json:"first,omitempty"`
	Last      string  `json:"last,omitempty"`
}

// JSONReport is the JSON output.
type JSONReport struct {
	GroupBy string    `json:"group_by"`
	Rows    []JSONRow `json:"rows"`
}

// WriteJSON writes rows as one JSONReport object (indented, with a final
// newline).
func WriteJSON(w io.Writer, by GroupBy, rows []Row) error {
	out := JSONReport{GroupBy: by.String(), Rows: make([]JSONRow, 0, len(rows))}
	for _, r := range rows {
		j := JSONRow{Processes: r.Processes, Sent: r.Sent, Recv: r.Recv, Total: r.Total(),
			PeakSent: finite(r.PeakSent), PeakRecv: finite(r.PeakRecv), MeanSent: finite(r.MeanSent), MeanRecv: finite(r.MeanRecv),
			Refreshes: r.Refreshes, Seen: r.Seen.Seconds(), First: fmtTime(r.First), Last: fmtTime(r.Last)}
		switch by {
		case ByPID:
			j.Name, j.PID, j.UID = &r.Name, &r.PID, &r.UID
		case ByUser:
			j.UID = &r.UID
		default:
			j.Name = &r.Name
		}
		out.Rows = append(out.Rows, j)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(out); err != nil {
		return fmt.Errorf("report: write json: %w", err)
	}
	return nil
}
