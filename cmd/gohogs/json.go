package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/gohogs/gohogs/trace"
)

// snapshotWriter is where trace mode writes: nethogs's trace lines
// (trace.Writer) or JSON lines (jsonWriter).
type snapshotWriter interface {
	// Line writes a free line (header, start-up lines).
	Line(s string) error
	// Refresh writes one refresh, flushed.
	Refresh(s *trace.Snapshot) error
}

// newSnapshotWriter returns the writer the options ask for: JSON lines with
// --json, nothing with a headless --listen, the trace lines otherwise.
func newSnapshotWriter(out io.Writer, o *options) snapshotWriter {
	if o.json {
		return &jsonWriter{out: out, view: o.view, bySent: o.bySent}
	}
	if o.headless {
		out = io.Discard
	}
	w := trace.NewWriter(out)
	w.Mode, w.BySent, w.Cmdline = o.view, o.bySent, o.cmdline
	return w
}

// jsonWriter writes one JSON object per refresh, one line each, written with
// a single Write so that a reader of a pipe or file never sees half a
// line. The byte counts are exact and independent of the view mode; the
// rows come in the trace's order for that mode. Free lines (the log header,
// the start-up lines) are not written: every line is a refresh.
type jsonWriter struct {
	out    io.Writer
	view   trace.ViewMode
	bySent bool
}

// jsonRefresh is one refresh, as --json writes it.
type jsonRefresh struct {
	// Timestamp is the refresh's cut time, RFC 3339 with nanoseconds, UTC.
	Timestamp string `json:"timestamp"`
	// Interval is the time the refresh covers, in seconds.
	Interval float64 `json:"interval"`
	// Seq numbers the refreshes from 1.
	Seq  int       `json:"seq"`
	Rows []jsonRow `json:"rows"`
	// UnknownConnections are the TCP flows of the "unknown TCP" row, named
	// as the trace's "Unknown connection:" lines name them.
	UnknownConnections []string `json:"unknown_connections"`
	// Accounting says where the interval's bytes went.
	Accounting jsonAccounting `json:"accounting"`
}

// jsonRow is one process (or an unknown row) of a refresh.
type jsonRow struct {
	// Name, Args and Cmdline are as the trace shows them, except that
	// bytes that are not UTF-8 become U+FFFD (JSON strings are Unicode).
	Name    string   `json:"name"`
	Args    string   `json:"args"`
	Cmdline []string `json:"cmdline"`
	PID     int      `json:"pid"`
	// StartTime is the process's start in clock ticks after boot
	// (/proc/PID/stat field 22); with pid it identifies the process.
	StartTime uint64 `json:"start_time"`
	UID       uint32 `json:"uid"`
	// Kind is "process", "socket" (owner not visible), "unknown_tcp",
	// "unknown_udp", "unknown_icmp" or "unknown_ip" (-C).
	Kind string `json:"kind"`
	// Cgroup is the process's cgroup path, Unit its systemd unit and
	// Container the container it runs in; each is left out when empty
	// (always, for rows that are not processes).
	Cgroup    string         `json:"cgroup,omitempty"`
	Unit      string         `json:"unit,omitempty"`
	Container *jsonContainer `json:"container,omitempty"`
	// Sent and Recv are the bytes (whole frames) of this refresh's
	// interval; TotalSent and TotalRecv since the start.
	Sent        uint64     `json:"sent"`
	Recv        uint64     `json:"recv"`
	TotalSent   uint64     `json:"total_sent"`
	TotalRecv   uint64     `json:"total_recv"`
	Connections []jsonConn `json:"connections"`
}

// jsonContainer is the container of a row's process: its runtime
// ("docker", "podman", "containerd", "cri-o", "cri"), its id (64 hex
// digits) and its name as the runtime's API says it ("" when unknown).
type jsonContainer struct {
	Runtime string `json:"runtime"`
	ID      string `json:"id"`
	Name    string `json:"name"`
}

// jsonConn is one flow of a row, with this refresh's bytes.
type jsonConn struct {
	// Proto is the IP protocol in lower case: "tcp", "udp", with -C also
	// "icmp", "icmpv6", ... or a number.
	Proto  string `json:"proto"`
	Local  string `json:"local"`
	Remote string `json:"remote"`
	// RemoteName is the DNS name Remote was resolved from, left out
	// when unknown (gohogs report --by remote reads it).
	RemoteName string `json:"remote_name,omitempty"`
	Sent       uint64 `json:"sent"`
	Recv       uint64 `json:"recv"`
}

// Line drops free lines: JSON output holds refreshes only.
func (j *jsonWriter) Line(string) error { return nil }

// Refresh writes s as one JSON line.
func (j *jsonWriter) Refresh(s *trace.Snapshot) error {
	b, err := json.Marshal(toJSON(s, j.view, j.bySent))
	if err != nil {
		return fmt.Errorf("encoding a refresh: %w", err)
	}
	b = append(b, '\n')
	_, err = j.out.Write(b)
	return err
}

// toJSON converts a refresh, its rows in the trace's order.
func toJSON(s *trace.Snapshot, view trace.ViewMode, bySent bool) jsonRefresh {
	out := jsonRefresh{
		Timestamp:          s.Time.UTC().Format(time.RFC3339Nano),
		Interval:           s.Elapsed.Seconds(),
		Seq:                s.Seq,
		Rows:               []jsonRow{},
		UnknownConnections: make([]string, 0, len(s.UnknownConns)),
		Accounting:         toJSONAccounting(s.Accounting),
	}
	for _, c := range s.UnknownConns {
		out.UnknownConnections = append(out.UnknownConnections, c.String())
	}
	for _, r := range trace.Sorted(s, view, bySent) {
		jr := jsonRow{
			Name: r.Name, Args: r.Args, Cmdline: r.Cmdline, PID: r.PID, StartTime: r.StartTime, UID: r.UID,
			Kind: r.Kind.String(), Sent: r.Sent, Recv: r.Recv, TotalSent: r.TotalSent, TotalRecv: r.TotalRecv,
			Connections: make([]jsonConn, 0, len(r.Conns)),
		}
		if jr.Cmdline == nil {
			jr.Cmdline = []string{}
		}
		jr.Cgroup, jr.Unit = r.Cgroup, r.Unit
		if c := r.Container; c.ID != "" {
			jr.Container = &jsonContainer{Runtime: c.Runtime.String(), ID: c.ID, Name: c.Name}
		}
		for _, c := range r.Conns {
			jr.Connections = append(jr.Connections, jsonConn{
				Proto: strings.ToLower(c.Proto.String()), Local: c.Local.String(), Remote: c.Remote.String(), Sent: c.Sent, Recv: c.Recv,
				RemoteName: c.RemoteName,
			})
		}
		out.Rows = append(out.Rows, jr)
	}
	return out
}
