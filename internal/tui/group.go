package tui

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/gohogs/gohogs/trace"
)

// The SERVICE column (key c) and the grouping by it (key u): which
// container or systemd unit a process belongs to, and their sums.

// shortID is how many digits of a container id are shown, as Docker and
// podman show them.
const shortID = 12

// service is the SERVICE column of a row: its container's name (runtime
// and short id while the runtime has not named it), else its systemd unit,
// "" for neither.
func service(r *trace.Row) string {
	c := r.Container
	switch {
	case c.ID != "" && c.Name != "":
		return c.Name
	case c.ID != "":
		return c.Runtime.String() + ":" + c.ID[:min(shortID, len(c.ID))]
	}
	return r.Unit
}

// groupKey is what row r is grouped under: its container, else its unit;
// "" for a row that stays alone (not a process, or in neither).
func groupKey(r *trace.Row) string {
	switch {
	case r.Kind != trace.KindProcess:
		return ""
	case r.Container.ID != "":
		return "container " + r.Container.ID
	case r.Unit != "":
		return "unit " + r.Unit
	}
	return ""
}

// isGroup tells whether r is a group row: a process row without a pid,
// which no process has.
func isGroup(r *trace.Row) bool { return r.Kind == trace.KindProcess && r.PID == 0 }

// groupRows returns rows with the processes of each container and unit
// summed into one row (named by the SERVICE column, no pid, its members'
// connections); the other rows as they are, in their order.
func groupRows(rows []trace.Row) []trace.Row {
	out := make([]trace.Row, 0, len(rows))
	at := map[string]int{} // group key → index in out
	for i := range rows {
		r := &rows[i]
		k := groupKey(r)
		if k == "" {
			out = append(out, *r)
			continue
		}
		j, ok := at[k]
		if !ok {
			at[k] = len(out)
			out = append(out, trace.Row{Kind: trace.KindProcess, Name: service(r), UID: r.UID,
				Cgroup: r.Cgroup, Unit: r.Unit, Container: r.Container})
			j = len(out) - 1
		}
		g := &out[j]
		g.Sent += r.Sent
		g.Recv += r.Recv
		g.TotalSent += r.TotalSent
		g.TotalRecv += r.TotalRecv
		g.Conns = append(g.Conns, r.Conns...)
		if g.Container.Name == "" {
			g.Container.Name = r.Container.Name
		}
	}
	for _, j := range at {
		out[j].Name = service(&out[j]) // named by a later member, perhaps
	}
	return out
}

// members are the processes of group row g in the snapshot shown.
func (m *Model) members(g *trace.Row) []trace.Row {
	if m.snap == nil {
		return nil
	}
	k := groupKey(g)
	var out []trace.Row
	for i := range m.snap.Rows {
		if r := &m.snap.Rows[i]; groupKey(r) == k {
			out = append(out, *r)
		}
	}
	return out
}

// groupProgram is the PROGRAM column of a group row: the container or
// unit, and how many processes it has.
func (m *Model) groupProgram(g *trace.Row) string {
	n := len(m.members(g))
	what := "processes"
	if n == 1 {
		what = "process"
	}
	return fmt.Sprintf("%s (%d %s)", g.Name, n, what)
}

// serviceDetails are the details panel's lines of a row's cgroup,
// container and unit, and a group's processes.
func (m *Model) serviceDetails(r *trace.Row, w int) []string {
	var out []string
	if isGroup(r) {
		var procs []string
		for _, p := range m.members(r) {
			procs = append(procs, strconv.Itoa(p.PID)+" "+p.Name)
		}
		out = append(out, wrap("processes: "+strings.Join(procs, ", "), w, 3)...)
	}
	if c := r.Container; c.ID != "" {
		s := "container: " + c.Runtime.String() + " " + c.ID
		if c.Name != "" {
			s += " (" + c.Name + ")"
		}
		if c.PodUID != "" {
			s += " pod " + c.PodUID
		}
		out = append(out, cutRight(s, w))
	}
	if r.Unit != "" {
		out = append(out, cutRight("unit:    "+r.Unit, w))
	}
	if r.Cgroup != "" && !isGroup(r) {
		out = append(out, cutRight("cgroup:  "+r.Cgroup, w))
	}
	return out
}
