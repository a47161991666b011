package tui

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"

	"github.com/gdamore/tcell/v2"

	"github.com/gohogs/gohogs/procmap"
	"github.com/gohogs/gohogs/trace"
)

const testID = "9a826d2c6ac699a5619fbc83cd0f3e21c405523829ac96af302ce2df1a701a08"

// serviceSnapshot is a refresh of 2 s: two processes of the podman
// container "web" (named or not), one of nginx.service, one of neither,
// and the unknown row:
//
//	curl  pid 100 web:            sent  1 kB/s, received 10 kB/s
//	sh    pid 101 web:            sent  2 kB/s, received  0
//	nginx pid 200 nginx.service:  sent 20 kB/s, received  2 kB/s
//	ssh   pid 300:                sent  3 kB/s, received  4 kB/s
func serviceSnapshot(seq int, named bool) *trace.Snapshot {
	s := snapshot(seq)
	web := procmap.Container{Runtime: procmap.RuntimePodman, ID: testID}
	if named {
		web.Name = "web"
	}
	for i := range s.Rows {
		r := &s.Rows[i]
		switch r.PID {
		case 100:
			r.Container, r.Cgroup = web, "/libpod_parent/libpod-"+testID
		case 200:
			r.Unit, r.Cgroup = "nginx.service", "/system.slice/nginx.service"
		}
	}
	s.Rows = append(s.Rows, trace.Row{Kind: trace.KindProcess, Name: "/bin/sh", Cmdline: []string{"/bin/sh"}, PID: 101, StartTime: 6, UID: 1000,
		Sent: 4096, TotalSent: 4096 * uint64(seq), Container: web, Cgroup: "/libpod_parent/libpod-" + testID,
		Conns: []trace.Conn{{Proto: 6, Local: netip.MustParseAddrPort("10.0.0.5:40001"), Remote: netip.MustParseAddrPort("10.0.0.8:22"), Sent: 4096}}})
	return s
}

// typeFilter types a filter and keeps it (/, the text, Enter).
func typeFilter(m *Model, f string) {
	m.HandleKey(key('/'))
	for _, r := range f {
		m.HandleKey(key(r))
	}
	m.HandleKey(special(tcell.KeyEnter))
}

// TestServiceColumn: c shows the SERVICE column, between USER and PROGRAM,
// taken from PROGRAM's width: the container's name (runtime and short id
// while unnamed), else the unit.
func TestServiceColumn(t *testing.T) {
	s := newScreen(t, 100, 30)
	m := newModel(Config{})
	m.Update(serviceSnapshot(1, true))
	if strings.Contains(screen(t, m, s)[2], "SERVICE") {
		t.Fatal("SERVICE shown before c")
	}
	m.HandleKey(key('c'))
	lines := screen(t, m, s)
	if !strings.HasPrefix(lines[2], "    PID USER     SERVICE              PROGRAM ") {
		t.Errorf("title %q", lines[2])
	}
	// progW = 47 without the column; with it, 47 - 21 = 26.
	row := func(pid, user, svc, prog string, sent, recv float64) string {
		return fmt.Sprintf("%7s %-8s %-20s %-26s  %-5s%11.3f %11.3f kB/s", pid, user, svc, prog, "eth0", sent, recv)
	}
	want := []string{
		row("100", "alice", "web", "/usr/bin/curl", 1, 10),
		row("300", "4242", "", "/usr/bin/ssh", 3, 4),
		row("200", "root", "nginx.service", "nginx: worker process", 20, 2),
		row("101", "alice", "web", "/bin/sh", 2, 0),
		row("?", "root", "", "unknown TCP", 0, 0.5),
	}
	if got := tableRows(lines); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("rows:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	m.Update(serviceSnapshot(2, false))
	if r := find(screen(t, m, s), "100 "); !strings.Contains(r, " podman:9a826d2c6ac6 ") {
		t.Errorf("unnamed container: %q", r)
	}
	// The filter finds rows by their service.
	typeFilter(m, "nginx.serv")
	if got := pids(tableRows(screen(t, m, s))); fmt.Sprint(got) != "[200]" {
		t.Errorf("filter by unit: %v", got)
	}
	// Too narrow for it: no column, the table as without it.
	m.HandleKey(special(tcell.KeyEscape))
	n := newScreen(t, MinWidth, 30)
	if lines := screen(t, m, n); strings.Contains(lines[2], "SERVICE") || !strings.Contains(lines[2], "PROGRAM") {
		t.Errorf("at %d columns: %q", MinWidth, lines[2])
	}
	m.HandleKey(key('c'))
	if strings.Contains(screen(t, m, s)[2], "SERVICE") {
		t.Error("SERVICE shown after a second c")
	}
}

// TestGroupByService: u sums the processes of each container and unit
// into one row (pid "*"), sorted with the others; the TOTAL stays; the
// selected group's details list its processes, its container and its
// connections, with its own sparkline history; u again ungroups.
func TestGroupByService(t *testing.T) {
	s := newScreen(t, 100, 40)
	m := newModel(Config{})
	m.Update(serviceSnapshot(1, true))
	m.Update(serviceSnapshot(2, true))
	m.HandleKey(key('u'))
	lines := screen(t, m, s)
	row := func(pid, user, prog string, sent, recv float64) string {
		return fmt.Sprintf("%7s %-8s %-47s  %-5s%11.3f %11.3f kB/s", pid, user, prog, "eth0", sent, recv)
	}
	want := []string{
		row("*", "alice", "web (2 processes)", 3, 10),
		row("300", "4242", "/usr/bin/ssh", 3, 4),
		row("*", "root", "nginx.service (1 process)", 20, 2),
		row("?", "root", "unknown TCP", 0, 0.5),
	}
	if got := tableRows(lines); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("rows:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if total := find(lines, "TOTAL"); !strings.Contains(total, fmt.Sprintf("%11.3f %11.3f kB/s", 26.0, 16.5)) {
		t.Errorf("total %q", total)
	}
	if !strings.Contains(lines[1], "by container/unit") {
		t.Errorf("info line %q", lines[1])
	}
	m.HandleKey(special(tcell.KeyDown)) // the web group
	if pid, name, ok := m.Selected(); !ok || pid != 0 || name != "web" {
		t.Fatalf("selected %d %q %v", pid, name, ok)
	}
	text := strings.Join(screen(t, m, s), "\n")
	for _, w := range []string{
		" web  container or unit  user alice",
		"processes: 100 /usr/bin/curl, 101 /bin/sh",
		"container: podman " + testID + " (web)",
		"total:   sent 12.0 kB, received 40.0 kB; last refresh: sent 3.0 kB/s, received 10.0 kB/s", // 2 × (2048+4096) B, 2 × 20480 B
		"connections: 2",
		"TCP  10.0.0.5:40001 -> 10.0.0.8:22",
		"sent     ", // a sparkline: the group has a history
	} {
		if !strings.Contains(text, w) {
			t.Errorf("details lack %q:\n%s", w, text)
		}
	}
	if strings.Contains(text, "command:") {
		t.Errorf("a group with a command line:\n%s", text)
	}
	// The filter matches groups by their name.
	typeFilter(m, "web")
	if rows := tableRows(screen(t, m, s)); len(rows) != 1 || !strings.Contains(rows[0], "web (2 processes)") {
		t.Errorf("filtered groups: %q", rows)
	}
	m.HandleKey(special(tcell.KeyEscape))
	m.HandleKey(key('u'))
	if got := pids(tableRows(screen(t, m, s))); fmt.Sprint(got) != "[100 300 200 101 ?]" {
		t.Errorf("ungrouped: %v", got)
	}
	// A process's own details say its container and cgroup.
	m.HandleKey(special(tcell.KeyHome))
	text = strings.Join(screen(t, m, s), "\n")
	for _, w := range []string{"container: podman " + testID + " (web)", "cgroup:  /libpod_parent/libpod-" + testID} {
		if !strings.Contains(text, w) {
			t.Errorf("process details lack %q:\n%s", w, text)
		}
	}
}

// TestGroupRows: every process of a container or unit is in its group,
// the bytes are the sums, rows of neither stay, and a name known to a
// later member names the group.
func TestGroupRows(t *testing.T) {
	rows := serviceSnapshot(1, false).Rows
	rows[len(rows)-1].Container.Name = "late"
	g := groupRows(rows)
	byName := map[string]trace.Row{}
	for _, r := range g {
		byName[r.Name] = r
	}
	web, ok := byName["late"]
	if !ok || !isGroup(&web) || web.Sent != 2048+4096 || web.Recv != 20480 || len(web.Conns) != 2 || web.Container.ID != testID {
		t.Errorf("web group %+v (groups %v)", web, byName)
	}
	if n := byName["nginx.service"]; !isGroup(&n) || n.Sent != 40960 || n.Unit != "nginx.service" {
		t.Errorf("nginx group %+v", n)
	}
	if ssh := byName["/usr/bin/ssh"]; ssh.PID != 300 || isGroup(&ssh) {
		t.Errorf("ssh %+v", ssh)
	}
	if len(g) != 4 { // web, nginx, ssh, unknown
		t.Errorf("%d rows, want 4", len(g))
	}
}

func FuzzDrawService(f *testing.F) {
	f.Add("web", "nginx.service", uint8(100))
	f.Add("evil\x1b]0;x\x07", "\x00unit", uint8(62))
	f.Add("下载器\u0301", "\xff", uint8(80))
	f.Fuzz(func(t *testing.T, name, unit string, w uint8) {
		s := tcell.NewSimulationScreen("UTF-8")
		if err := s.Init(); err != nil {
			t.Fatal(err)
		}
		defer s.Fini()
		s.SetSize(int(w), 30)
		m := newModel(Config{})
		snap := serviceSnapshot(1, true)
		for i := range snap.Rows {
			if snap.Rows[i].Container.ID != "" {
				snap.Rows[i].Container.Name = name
			}
			if snap.Rows[i].Unit != "" {
				snap.Rows[i].Unit = unit
			}
		}
		m.Update(snap)
		for _, k := range []rune{'c', 'u'} {
			m.HandleKey(key(k))
			m.HandleKey(special(tcell.KeyDown))
			noControls(t, m, s)
		}
	})
}
