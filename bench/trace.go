package main

import (
	"bufio"
	"fmt"
	"io"
	"time"

	"github.com/gohogs/gohogs/trace/nethogs"
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

// parseBlocks splits stamped trace lines into refresh blocks, reading them
// with the trace grammar (nethogs.ParseLine). What comes before the first
// "Refreshing:" is start-up output and is skipped; after it, a line that is
// not a process row, an "Unknown connection:" line or a block boundary is an
// error.
func parseBlocks(lines []line) ([]block, error) {
	var blocks []block
	for _, l := range lines {
		if len(blocks) == 0 && l.Text != nethogs.RefreshLine {
			continue // start-up: Adding local address, link detected
		}
		ln, err := nethogs.ParseLine(l.Text)
		if err == nil && ln.Kind != nethogs.KindBlank && ln.Kind != nethogs.KindRefreshing &&
			ln.Kind != nethogs.KindProcess && ln.Kind != nethogs.KindUnknownConn {
			err = fmt.Errorf("a %v line inside the refresh blocks", ln.Kind)
		}
		if err != nil {
			return blocks, fmt.Errorf("trace line %q: %w", l.Text, err)
		}
		switch ln.Kind {
		case nethogs.KindRefreshing:
			blocks = append(blocks, block{At: l.At})
		case nethogs.KindProcess:
			p := ln.Proc
			b := &blocks[len(blocks)-1]
			b.Rows = append(b.Rows, row{Name: p.Name, PID: p.PID, UID: int(p.UID), Sent: p.Sent, Rcv: p.Recv})
		}
	}
	return blocks, nil
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
