package report

import (
	"bufio"
	"bytes"
	"encoding/json"
	"testing"
)

// jsonMirror is a copy of the types cmd/gohogs/json.go writes (jsonRefresh
// and what it holds), with the remote_name that issue 17 adds to
// connections, so that the generated logs can be checked against them.
type jsonMirror struct {
	Timestamp string  `json:"timestamp"`
	Interval  float64 `json:"interval"`
	Seq       int     `json:"seq"`
	Rows      []struct {
		Name      string   `json:"name"`
		Args      string   `json:"args"`
		Cmdline   []string `json:"cmdline"`
		PID       int      `json:"pid"`
		StartTime uint64   `json:"start_time"`
		UID       uint32   `json:"uid"`
		Kind      string   `json:"kind"`
		Cgroup    string   `json:"cgroup,omitempty"`
		Unit      string   `json:"unit,omitempty"`
		Container *struct {
			Runtime string `json:"runtime"`
			ID      string `json:"id"`
			Name    string `json:"name"`
		} `json:"container,omitempty"`
		Sent        uint64 `json:"sent"`
		Recv        uint64 `json:"recv"`
		TotalSent   uint64 `json:"total_sent"`
		TotalRecv   uint64 `json:"total_recv"`
		Connections []struct {
			Proto      string `json:"proto"`
			Local      string `json:"local"`
			Remote     string `json:"remote"`
			RemoteName string `json:"remote_name,omitempty"`
			Sent       uint64 `json:"sent"`
			Recv       uint64 `json:"recv"`
		} `json:"connections"`
	} `json:"rows"`
	UnknownConnections []string `json:"unknown_connections"`
}

// TestBusyJSONSchema: the generated lines are what encoding/json writes for
// gohogs's types (no field unknown to them, the same bytes once decoded and
// encoded again), of the sizes busyJSON says.
func TestBusyJSONSchema(t *testing.T) {
	for _, h := range []int{0, 13} { // two epochs, 40 refreshes each
		sc := bufio.NewScanner(busyJSONHour(h))
		sc.Buffer(nil, maxJSONLine)
		var lines, size, rows, conns, named, args, sent int
		for sc.Scan() && lines < 40 {
			line := sc.Bytes()
			lines++
			size += len(line) + 1
			var m jsonMirror
			d := json.NewDecoder(bytes.NewReader(line))
			d.DisallowUnknownFields()
			if err := d.Decode(&m); err != nil {
				t.Fatalf("hour %d line %d: %v", h, lines, err)
			}
			again, err := json.Marshal(&m)
			if err != nil || !bytes.Equal(again, line) {
				t.Fatalf("hour %d line %d is not what encoding/json writes:\n%.300s\n%.300s", h, lines, line, again)
			}
			if m.Seq != h*3600+lines || len(m.Rows) != busyRows+2 {
				t.Fatalf("hour %d line %d: seq %d, %d rows", h, lines, m.Seq, len(m.Rows))
			}
			for _, r := range m.Rows {
				var cs uint64
				for _, c := range r.Connections {
					cs += c.Sent
					if c.RemoteName != "" {
						named++
					}
				}
				if r.Kind == "process" && cs != r.Sent {
					t.Fatalf("row %s/%d: sent %d, its connections %d", r.Name, r.PID, r.Sent, cs)
				}
				rows++
				conns += len(r.Connections)
				args += len(r.Args)
				sent += int(r.Sent)
			}
		}
		if lines != 40 || sent == 0 {
			t.Fatalf("%d lines, %d bytes sent", lines, sent)
		}
		perLine, perRow := size/lines, float64(conns)/float64(rows)
		t.Logf("hour %d: %d B a line, %.1f connections a row (%d%% named), %d B of args a row", h, perLine, perRow, 100*named/conns, args/rows)
		if perLine < 350<<10 || perLine > 450<<10 || perRow < 5 || perRow > 7 {
			t.Errorf("%d B a line, %.1f connections a row: not the host busyJSON describes", perLine, perRow)
		}
	}
}
