package report

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"iter"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Write writes rows in format f.
func Write(w io.Writer, f Format, by GroupBy, rows []Row) error {
	return WriteBuckets(w, f, by, 0, []Bucket{{Rows: rows}})
}

// WriteBuckets writes the rows of time buckets of width every in format f:
// in CSV with a first column time (the bucket's start, RFC 3339), in JSON
// with a time key in every row, as a table one block per bucket under a
// line that says its start and width. With every 0 it writes the rows of
// buckets[0] as Write does (nothing when there is none).
func WriteBuckets(w io.Writer, f Format, by GroupBy, every time.Duration, buckets []Bucket) error {
	return WriteBucketSeq(w, f, by, every, slices.Values(buckets))
}

// WriteBucketSeq is WriteBuckets with the buckets yielded one at a time (see
// Report.BucketSeq); the table ranges over them twice, to line them up.
func WriteBucketSeq(w io.Writer, f Format, by GroupBy, every time.Duration, buckets iter.Seq[Bucket]) error {
	var err error
	switch f {
	case FormatCSV:
		err = writeCSV(w, by, every, buckets)
	case FormatJSON:
		err = writeJSON(w, by, every, buckets)
	default:
		err = writeTable(w, by, every, buckets)
	}
	return err
}

// WriteTable writes rows as aligned columns with human units; the name
// column comes last, as long names (-l, pseudo-processes) would push the
// numbers apart. FIRST and LAST are shown when some row has them.
func WriteTable(w io.Writer, by GroupBy, rows []Row) error {
	return writeTable(w, by, 0, slices.Values([]Bucket{{Rows: rows}}))
}

// WriteCSV writes rows as CSV (RFC 4180) with the CSVHeader columns: bytes
// as integers, rates in bytes per second, times in RFC 3339 (empty when
// unknown), uid -1 for the rows without a process.
func WriteCSV(w io.Writer, by GroupBy, rows []Row) error {
	return writeCSV(w, by, 0, slices.Values([]Bucket{{Rows: rows}}))
}

// WriteJSON writes rows as one JSONReport object (indented, with a final
// newline).
func WriteJSON(w io.Writer, by GroupBy, rows []Row) error {
	return writeJSON(w, by, 0, slices.Values([]Bucket{{Rows: rows}}))
}

// FormatEvery formats a bucket width as ParseEvery reads it: 1d, 1h, 15m,
// 1m30s.
func FormatEvery(d time.Duration) string {
	for _, u := range []struct {
		d    time.Duration
		name string
	}{{24 * time.Hour, "d"}, {time.Hour, "h"}, {time.Minute, "m"}} {
		if d >= u.d && d%u.d == 0 {
			return strconv.FormatInt(int64(d/u.d), 10) + u.name
		}
	}
	return d.String()
}

// keyHead returns the table's columns before the numbers and the label
// column after them ("" for none) of a grouping.
func keyHead(by GroupBy) (head []string, label string) {
	switch by {
	case ByPID:
		return []string{"PID", "UID"}, "NAME"
	case ByUser:
		return []string{"UID", "PROCS"}, ""
	case ByUnit:
		return []string{"PROCS"}, "UNIT"
	case ByContainer:
		return []string{"PROCS", "RUNTIME", "ID"}, "CONTAINER"
	case ByRemote:
		return []string{"PROCS"}, "REMOTE"
	}
	return []string{"PROCS"}, "NAME"
}

// keyCells returns a row's cells for keyHead.
func keyCells(by GroupBy, r Row) (cells []string, label string) {
	procs := strconv.Itoa(r.Processes)
	switch by {
	case ByPID:
		return []string{strconv.Itoa(r.PID), fmtUID(r.UID)}, r.Name
	case ByUser:
		return []string{fmtUID(r.UID), procs}, ""
	case ByUnit:
		return []string{procs}, r.Unit
	case ByContainer:
		id := r.Container.ID
		if len(id) > 12 {
			id = id[:12]
		}
		return []string{procs, dash(r.Container.Runtime), dash(id)}, r.Container.Label()
	case ByRemote:
		return []string{procs}, r.Remote
	}
	return []string{procs}, r.Name
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func writeTable(w io.Writer, by GroupBy, every time.Duration, buckets iter.Seq[Bucket]) error {
	head, label := keyHead(by)
	nKey := len(head)
	head = append(head, "SENT", "RECEIVED", "TOTAL", "PEAK SENT", "PEAK RECV", "MEAN SENT", "MEAN RECV", "SEEN", "FIRST", "LAST")
	if label != "" {
		head = append(head, label)
	}
	cells := func(r Row) []string {
		c, name := keyCells(by, r)
		first, last := "-", "-"
		if !r.First.IsZero() {
			first, last = r.First.UTC().Format(time.RFC3339), r.Last.UTC().Format(time.RFC3339)
		}
		c = append(c, HumanBytes(float64(r.Sent)), HumanBytes(float64(r.Recv)), HumanBytes(float64(r.Total())),
			HumanRate(r.PeakSent), HumanRate(r.PeakRecv), HumanRate(r.MeanSent), HumanRate(r.MeanRecv),
			r.Seen.Round(time.Millisecond).String(), first, last)
		if label != "" {
			c = append(c, printable(name))
		}
		return c
	}
	// The first pass finds the columns' widths (all blocks line up) and
	// whether any row has times (FIRST and LAST are left out otherwise).
	withTimes := false
	width := make([]int, len(head))
	measure := func(c []string) {
		for i, s := range c {
			width[i] = max(width[i], utf8.RuneCountInString(s))
		}
	}
	measure(head)
	for b := range buckets {
		for _, r := range b.Rows {
			withTimes = withTimes || !r.First.IsZero()
			measure(cells(r))
		}
	}
	timeCol := nKey + 8 // FIRST; LAST follows
	var sb strings.Builder
	var cols []int // the columns printed
	for i := range head {
		if withTimes || i != timeCol && i != timeCol+1 {
			cols = append(cols, i)
		}
	}
	line := func(c []string) {
		for k, i := range cols {
			s := c[i]
			last := k == len(cols)-1
			pad := strings.Repeat(" ", width[i]-utf8.RuneCountInString(s))
			switch {
			case last && label != "": // the label: left, no trailing spaces
				sb.WriteString(s)
			case i == timeCol || i == timeCol+1 || by == ByContainer && (head[i] == "RUNTIME" || head[i] == "ID"):
				sb.WriteString(s)
				if !last {
					sb.WriteString(pad)
				}
			default:
				sb.WriteString(pad + s)
			}
			if !last {
				sb.WriteString("  ")
			}
		}
		sb.WriteByte('\n')
	}
	n := 0
	for b := range buckets {
		sb.Reset()
		if every > 0 {
			if n > 0 {
				sb.WriteByte('\n')
			}
			sb.WriteString(b.Start.Format(time.RFC3339) + " (" + FormatEvery(every) + ")\n")
		}
		n++
		line(head)
		for _, r := range b.Rows {
			line(cells(r))
		}
		if _, err := io.WriteString(w, sb.String()); err != nil {
			return fmt.Errorf("report: write table: %w", err)
		}
	}
	return nil
}

// CSVHeader returns the CSV column names for a grouping.
func CSVHeader(by GroupBy) []string {
	var h []string
	switch by {
	case ByPID:
		h = []string{"pid", "uid", "name"}
	case ByUser:
		h = []string{"uid", "processes"}
	case ByUnit:
		h = []string{"unit", "processes"}
	case ByContainer:
		h = []string{"container", "runtime", "container_id", "processes"}
	case ByRemote:
		h = []string{"remote", "processes"}
	default:
		h = []string{"name", "processes"}
	}
	return append(h, "sent_bytes", "recv_bytes", "total_bytes",
		"peak_sent_bytes_per_s", "peak_recv_bytes_per_s", "mean_sent_bytes_per_s", "mean_recv_bytes_per_s",
		"refreshes", "seen_seconds", "first", "last")
}

func writeCSV(w io.Writer, by GroupBy, every time.Duration, buckets iter.Seq[Bucket]) error {
	cw := csv.NewWriter(w)
	head := CSVHeader(by)
	if every > 0 {
		head = append([]string{"time"}, head...)
	}
	if err := cw.Write(head); err != nil {
		return fmt.Errorf("report: write csv: %w", err)
	}
	for b := range buckets {
		for _, r := range b.Rows {
			var c []string
			if every > 0 {
				c = append(c, b.Start.Format(time.RFC3339))
			}
			procs := strconv.Itoa(r.Processes)
			switch by {
			case ByPID:
				c = append(c, strconv.Itoa(r.PID), strconv.FormatInt(r.UID, 10), r.Name)
			case ByUser:
				c = append(c, strconv.FormatInt(r.UID, 10), procs)
			case ByUnit:
				c = append(c, r.Unit, procs)
			case ByContainer:
				c = append(c, r.Container.Label(), r.Container.Runtime, r.Container.ID, procs)
			case ByRemote:
				c = append(c, r.Remote, procs)
			default:
				c = append(c, r.Name, procs)
			}
			c = append(c, strconv.FormatInt(r.Sent, 10), strconv.FormatInt(r.Recv, 10), strconv.FormatInt(r.Total(), 10),
				fmtRate(r.PeakSent), fmtRate(r.PeakRecv), fmtRate(r.MeanSent), fmtRate(r.MeanRecv),
				strconv.Itoa(r.Refreshes), strconv.FormatFloat(r.Seen.Seconds(), 'f', -1, 64),
				fmtTime(r.First), fmtTime(r.Last))
			if err := cw.Write(c); err != nil {
				return fmt.Errorf("report: write csv: %w", err)
			}
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("report: write csv: %w", err)
	}
	return nil
}

// JSONRow is one row of the JSON output. The key fields (name, pid, uid,
// unit, container, remote) are present when the grouping has them; time
// with time buckets; first and last when known.
type JSONRow struct {
	Time      string         `json:"time,omitempty"`
	Name      *string        `json:"name,omitempty"`
	PID       *int           `json:"pid,omitempty"`
	UID       *int64         `json:"uid,omitempty"`
	Unit      *string        `json:"unit,omitempty"`
	Container *JSONContainer `json:"container,omitempty"`
	Remote    *string        `json:"remote,omitempty"`
	Processes int            `json:"processes"`
	Sent      int64          `json:"sent_bytes"`
	Recv      int64          `json:"recv_bytes"`
	Total     int64          `json:"total_bytes"`
	PeakSent  float64        `json:"peak_sent_bytes_per_s"`
	PeakRecv  float64        `json:"peak_recv_bytes_per_s"`
	MeanSent  float64        `json:"mean_sent_bytes_per_s"`
	MeanRecv  float64        `json:"mean_recv_bytes_per_s"`
	Refreshes int            `json:"refreshes"`
	Seen      float64        `json:"seen_seconds"`
	First     string         `json:"first,omitempty"`
	Last      string         `json:"last,omitempty"`
}

// JSONContainer is a container in the JSON output; a placeholder
// (NoContainer, FromTrace) is in name.
type JSONContainer struct {
	Runtime string `json:"runtime"`
	ID      string `json:"id"`
	Name    string `json:"name"`
}

// JSONReport is the JSON output. Every is the width of the time buckets in
// seconds, when there are buckets.
type JSONReport struct {
	GroupBy string    `json:"group_by"`
	Every   float64   `json:"every_seconds,omitempty"`
	Rows    []JSONRow `json:"rows"`
}

func writeJSON(w io.Writer, by GroupBy, every time.Duration, buckets iter.Seq[Bucket]) error {
	// Written a row at a time, as the one indented object encoding/json
	// would write: the rows of a day in minute buckets are too many to
	// hold.
	bw := bufio.NewWriter(w)
	bw.WriteString("{\n  \"group_by\": " + strconv.Quote(by.String()) + ",\n")
	if every > 0 {
		bw.WriteString("  \"every_seconds\": " + strconv.FormatFloat(every.Seconds(), 'f', -1, 64) + ",\n")
	}
	bw.WriteString("  \"rows\": [")
	n := 0
	for b := range buckets {
		for _, r := range b.Rows {
			j := JSONRow{Processes: r.Processes, Sent: r.Sent, Recv: r.Recv, Total: r.Total(),
				PeakSent: finite(r.PeakSent), PeakRecv: finite(r.PeakRecv), MeanSent: finite(r.MeanSent), MeanRecv: finite(r.MeanRecv),
				Refreshes: r.Refreshes, Seen: r.Seen.Seconds(), First: fmtTime(r.First), Last: fmtTime(r.Last)}
			if every > 0 {
				j.Time = b.Start.Format(time.RFC3339)
			}
			switch by {
			case ByPID:
				j.Name, j.PID, j.UID = &r.Name, &r.PID, &r.UID
			case ByUser:
				j.UID = &r.UID
			case ByUnit:
				j.Unit = &r.Unit
			case ByContainer:
				j.Container = &JSONContainer{Runtime: r.Container.Runtime, ID: r.Container.ID, Name: r.Container.Name}
			case ByRemote:
				j.Remote = &r.Remote
			default:
				j.Name = &r.Name
			}
			row, err := json.MarshalIndent(j, "    ", "  ")
			if err != nil {
				return fmt.Errorf("report: write json: %w", err)
			}
			if n > 0 {
				bw.WriteByte(',')
			}
			bw.WriteString("\n    ")
			bw.Write(row)
			n++
		}
	}
	if n > 0 {
		bw.WriteString("\n  ")
	}
	bw.WriteString("]\n}\n")
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("report: write json: %w", err)
	}
	return nil
}
