package main

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// row is one process line of a trace block: NAME/PID/UID<TAB>SENT<TAB>RECV.
type row struct {
	Name      string
	PID, UID  int
	Sent, Rcv float64
}

// key identifies a row across blocks.
func (r row) key() string { return fmt.Sprintf("%s/%d/%d", r.Name, r.PID, r.UID) }

// block is one refresh: the time its "Refreshing:" line was read and its rows.
type block struct {
	At   time.Time
	Rows []row
}

// line is one line of a monitor's stdout with the time it was read.
type line struct {
	At   time.Time
	Text string
}

// readLines reads r line by line, stamping each line, until EOF. At most
// maxLines are kept (a runaway monitor cannot exhaust memory).
func readLines(r io.Reader, maxLines int, out chan<- line) {
	defer close(out)
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	n := 0
	for sc.Scan() {
		if n < maxLines {
			out <- line{At: time.Now(), Text: sc.Text()}
			n++
		}
	}
}

// parseBlocks splits stamped trace lines into refresh blocks, reading rows
// as nethogs log readers do: three tab-separated fields, the identity split
// on its last two '/'. Start-up lines and "Unknown connection:" lines are
// skipped; a malformed row is an error.
func parseBlocks(lines []line) ([]block, error) {
	var blocks []block
	for _, l := range lines {
		t := l.Text
		switch {
		case t == "":
		case t == "Refreshing:":
			blocks = append(blocks, block{At: l.At})
		case len(blocks) == 0:
			// start-up: Adding local address, link detected
		case strings.HasPrefix(t, "Unknown connection: "):
		default:
			r, err := parseRow(t)
			if err != nil {
				return blocks, err
			}
			blocks[len(blocks)-1].Rows = append(blocks[len(blocks)-1].Rows, r)
		}
	}
	return blocks, nil
}

// parseRow parses one process line.
func parseRow(t string) (row, error) {
	f := strings.Split(t, "\t")
	if len(f) != 3 {
		return row{}, fmt.Errorf("trace line %q: want 3 tab-separated fields, got %d", t, len(f))
	}
	id := f[0]
	i := strings.LastIndexByte(id, '/')
	if i < 0 {
		return row{}, fmt.Errorf("trace line %q: no /UID", t)
	}
	j := strings.LastIndexByte(id[:i], '/')
	if j < 0 {
		return row{}, fmt.Errorf("trace line %q: no /PID/UID", t)
	}
	pid, err := strconv.Atoi(id[j+1 : i])
	if err != nil {
		return row{}, fmt.Errorf("trace line %q: pid: %w", t, err)
	}
	uid, err := strconv.Atoi(id[i+1:])
	if err != nil {
		return row{}, fmt.Errorf("trace line %q: uid: %w", t, err)
	}
	s, err := strconv.ParseFloat(f[1], 64)
	if err != nil {
		return row{}, fmt.Errorf("trace line %q: sent: %w", t, err)
	}
	r, err := strconv.ParseFloat(f[2], 64)
	if err != nil {
		return row{}, fmt.Errorf("trace line %q: recv: %w", t, err)
	}
	return row{Name: id[:j], PID: pid, UID: uid, Sent: s, Rcv: r}, nil
}

// maxTotals returns, for -v 2 (total bytes) traces, each row's largest
// SENT and RECV over all blocks: totals only grow, and a row may vanish
// from later blocks once its process is forgotten.
func maxTotals(blocks []block) map[string]row {
	m := map[string]row{}
	for _, b := range blocks {
		for _, r := range b.Rows {
			k := r.key()
			old, ok := m[k]
			if !ok {
				m[k] = r
				continue
			}
			old.Sent = max(old.Sent, r.Sent)
			old.Rcv = max(old.Rcv, r.Rcv)
			m[k] = old
		}
	}
	return m
}

// credited sums SENT+RECV over the rows that match(pid, name), and over all
// rows, from per-row totals.
func credited(totals map[string]row, match func(r row) bool) (mine, all float64) {
	for _, r := range totals {
		all += r.Sent + r.Rcv
		if match(r) {
			mine += r.Sent + r.Rcv
		}
	}
	return mine, all
}
