// Package tui is gohogs's interactive view: nethogs's full-screen table of
// processes, and more, as a model that draws on any tcell.Screen.
//
// The design keeps the terminal out of the model. A Model holds the view
// state (view mode, sort column, command line and basename toggles, the
// selection, the filter) and the last refresh (a trace.Snapshot), plus the
// last 60 seconds of every process's rates for the sparklines. Update feeds
// it a refresh, HandleKey a key press, and Draw paints the whole screen from
// scratch on a tcell.Screen; the caller calls Screen.Show. Because a key only
// changes the state and Draw recomputes everything from the state and the
// last snapshot, a key takes effect at once, not at the next refresh. Tests
// draw on tcell's SimulationScreen and read the cells back; the gohogs
// command draws on the real terminal.
//
// The layout follows nethogs 0.8: a header line with the version, a blank
// line, the reverse-video title row "PID USER PROGRAM DEV SENT RECEIVED",
// one row per process with "%11.3f" values and the unit of the view mode,
// a blank line and the TOTAL row. Below it, when a process is selected, a
// details panel: its full command line, its totals, sparklines of its sent
// and received rates over the last 60 seconds, and its connections. The last
// line lists the keys, or shows the filter being typed.
//
// Keys: nethogs's q (quit), s and r (sort by SENT or RECEIVED), l (command
// line), m (next view mode), b (basename); then c (the SERVICE column: the
// container, or else the systemd unit, of each process), u (one row per
// container and unit, their processes' bytes summed), up/down or j/k, PgUp/PgDn,
// Home/End or g/G to select a row and show its details, / to type a filter
// (name, arguments, service, pid, or the DNS name of a connection's
// remote end; Enter keeps it, Esc clears it), Esc to clear the
// filter or the selection, p or space to pause, Ctrl-L to repaint, Ctrl-Z
// to suspend, Ctrl-C to quit. The last three are the caller's to carry out
// (HandleKey returns Resync, Suspend or Quit).
//
// Process names come from other users' command lines: every string is
// drawn by grapheme cluster and display width (wide characters keep the
// columns aligned), and control characters are drawn as '?', so that no
// escape sequence reaches the terminal.
package tui

import (
	"net/netip"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gdamore/tcell/v2"

	"github.com/gohogs/gohogs/internal/username"
	"github.com/gohogs/gohogs/trace"
)

// MinWidth is the narrowest terminal the table fits in, as nethogs has it.
const MinWidth = 62

// TooNarrow is the message shown instead of the table on a terminal
// narrower than MinWidth (nethogs's words).
const TooNarrow = "The terminal is too narrow! Please make it wider.\nI'll wait..."

// HistoryWindow is how far back the sparklines reach.
const HistoryWindow = 60 * time.Second

// Device is an interface the view's data comes from: its name and its local
// addresses, used to tell on which device a process's connections are.
type Device struct {
	Name  string
	Addrs []netip.Addr
}

// Config is a Model's starting state.
type Config struct {
	// Version is printed in the header: "gohogs version <Version>".
	Version string
	// Devices are the monitored interfaces (for the DEV column).
	Devices []Device
	// Mode is the initial view mode (nethogs -v).
	Mode trace.ViewMode
	// BySent sorts by the SENT column (-s) instead of RECEIVED.
	BySent bool
	// Cmdline shows the command line arguments after the program (-l).
	Cmdline bool
	// Basename shows the program without its directory (-b).
	Basename bool
	// UserName names a uid; nil looks it up with os/user, falling back to
	// the number. Results are cached by the Model.
	UserName func(uid uint32) string
}

// Action is what a key asks of the caller.
type Action int

// Actions returned by HandleKey.
const (
	// Redraw: the state changed (or may have); draw again.
	Redraw Action = iota
	// Quit: leave the view.
	Quit
	// Resync: the screen may be garbled (Ctrl-L): repaint all of it.
	Resync
	// Suspend: stop as a shell job (Ctrl-Z, which raw mode delivers as a
	// key): restore the terminal, stop, and take it back when continued.
	Suspend
)

// rowKey identifies a row across refreshes.
type rowKey struct {
	kind  trace.Kind
	pid   int
	start uint64
	name  string // for rows that are not processes
}

func keyOf(r *trace.Row) rowKey {
	if isGroup(r) {
		return rowKey{kind: r.Kind, name: "group " + groupKey(r)}
	}
	if r.Kind == trace.KindProcess {
		return rowKey{kind: r.Kind, pid: r.PID, start: r.StartTime}
	}
	return rowKey{kind: r.Kind, pid: r.PID, name: r.Name}
}

// Model is the state of the interactive view. It is not safe for
// concurrent use: one goroutine updates it, handles keys and draws.
type Model struct {
	cfg      Config
	mode     trace.ViewMode
	bySent   bool
	cmdline  bool
	basename bool
	service  bool // the SERVICE column (c)
	grouped  bool // one row per container and unit (u)

	snap   *trace.Snapshot // shown
	latest *trace.Snapshot // taken (differs while paused)
	paused bool
	hist   map[rowKey]*history

	filter  string
	editing bool // typing the filter

	selected bool
	sel      rowKey
	top      int // first table row shown (scrolling)

	status    string
	statusSeq int // refresh when status was set
	users     *username.Cache
}

// New returns a Model in cfg's state, with no data yet.
func New(cfg Config) *Model {
	m := &Model{
		cfg:      cfg,
		mode:     cfg.Mode,
		bySent:   cfg.BySent,
		cmdline:  cfg.Cmdline,
		basename: cfg.Basename,
		hist:     make(map[rowKey]*history),
		users:    username.NewCache(cfg.UserName),
	}
	if !m.mode.Valid() {
		m.mode = trace.ViewKBps
	}
	return m
}

// Mode is the current view mode.
func (m *Model) Mode() trace.ViewMode { return m.mode }

// BySent reports whether the table is sorted by the SENT column.
func (m *Model) BySent() bool { return m.bySent }

// Paused reports whether the table is frozen (p or space): refreshes are
// still taken, and shown when it is unpaused.
func (m *Model) Paused() bool { return m.paused }

// Filter is the current filter text ("" for none).
func (m *Model) Filter() string { return m.filter }

// Selected returns the pid and name of the selected row, if any.
func (m *Model) Selected() (pid int, name string, ok bool) {
	if !m.selected {
		return 0, "", false
	}
	for _, r := range m.Rows() {
		if keyOf(&r) == m.sel {
			return r.PID, r.Name, true
		}
	}
	return 0, "", false
}

// StatusRefreshes is how many refreshes a status message stays.
const StatusRefreshes = 10

// SetStatus shows a message on the second line (such as an interface that
// went down) for StatusRefreshes refreshes; "" clears it.
func (m *Model) SetStatus(msg string) {
	m.status = msg
	if m.snap != nil {
		m.statusSeq = m.snap.Seq
	}
}

// Update takes a refresh: the rows shown from now on, and one more point of
// every row's history.
func (m *Model) Update(s *trace.Snapshot) {
	if s == nil {
		return
	}
	m.latest = s
	if !m.paused {
		m.snap = s
	}
	if m.status != "" && s.Seq-m.statusSeq >= StatusRefreshes {
		m.status = ""
	}
	seen := make(map[rowKey]bool, len(s.Rows))
	rows := s.Rows
	if slices.ContainsFunc(rows, func(r trace.Row) bool { return groupKey(&r) != "" }) {
		// The groups' history too, so that u shows their sparklines at once.
		rows = append(slices.Clip(rows), slices.DeleteFunc(groupRows(rows), func(r trace.Row) bool { return !isGroup(&r) })...)
	}
	for i := range rows {
		r := &rows[i]
		k := keyOf(r)
		seen[k] = true
		h := m.hist[k]
		if h == nil {
			h = &history{}
			m.hist[k] = h
		}
		h.add(sample{t: s.Time, elapsed: s.Elapsed, sent: r.Sent, recv: r.Recv}, s.Time)
	}
	for k := range m.hist {
		if !seen[k] {
			delete(m.hist, k)
		}
	}
}

// Rows returns the rows the table shows, in order: the snapshot's rows
// sorted as nethogs sorts them for the current mode and column, less those
// the filter hides.
func (m *Model) Rows() []trace.Row {
	if m.snap == nil {
		return nil
	}
	snap := m.snap
	if m.grouped {
		snap = &trace.Snapshot{Time: snap.Time, Elapsed: snap.Elapsed, Seq: snap.Seq, Rows: groupRows(snap.Rows)}
	}
	rows := trace.Sorted(snap, m.mode, m.bySent)
	if m.filter == "" {
		return rows
	}
	f := strings.ToLower(m.filter)
	return slices.DeleteFunc(rows, func(r trace.Row) bool { return !m.matches(&r, f) })
}

// matches tells whether a row passes the (lower-cased) filter: it is found
// in the program's name, its arguments, the name shown, its container or
// unit, or the DNS name of one of its connections' remote ends (lower
// case already), or it is the pid.
func (m *Model) matches(r *trace.Row, f string) bool {
	return strings.Contains(strings.ToLower(r.Name), f) ||
		strings.Contains(strings.ToLower(service(r)), f) ||
		strings.Contains(strings.ToLower(r.Args), f) ||
		strings.Contains(strings.ToLower(m.program(r)), f) ||
		(r.PID != 0 && strconv.Itoa(r.PID) == f) ||
		slices.ContainsFunc(r.Conns, func(c trace.Conn) bool { return strings.Contains(c.RemoteName, f) })
}

// HandleKey applies a key press and says what the caller should do.
func (m *Model) HandleKey(ev *tcell.EventKey) Action {
	switch ev.Key() {
	case tcell.KeyCtrlC:
		return Quit
	case tcell.KeyCtrlL:
		return Resync
	case tcell.KeyCtrlZ:
		return Suspend
	}
	if m.editing {
		switch ev.Key() {
		case tcell.KeyEscape:
			m.filter, m.editing = "", false
		case tcell.KeyEnter:
			m.editing = false
		case tcell.KeyBackspace, tcell.KeyBackspace2:
			if r := []rune(m.filter); len(r) > 0 {
				m.filter = string(r[:len(r)-1])
			}
		case tcell.KeyCtrlU:
			m.filter = ""
		case tcell.KeyUp, tcell.KeyDown, tcell.KeyPgUp, tcell.KeyPgDn:
			m.move(ev.Key())
		case tcell.KeyRune:
			if len(m.filter) < 200 {
				m.filter += string(ev.Rune())
			}
		}
		m.top = 0
		return Redraw
	}
	switch ev.Key() {
	case tcell.KeyRune:
		switch ev.Rune() {
		case 'q', 'Q':
			return Quit
		case 's':
			m.bySent = true
		case 'r':
			m.bySent = false
		case 'l':
			m.cmdline = !m.cmdline
		case 'b':
			m.basename = !m.basename
		case 'm':
			m.mode = (m.mode + 1) % trace.NumViewModes
		case 'c':
			m.service = !m.service
		case 'u':
			m.grouped = !m.grouped
			m.top = 0
		case '/':
			m.editing = true
		case 'p', ' ':
			m.paused = !m.paused
			if !m.paused {
				m.snap = m.latest
			}
		case 'j':
			m.move(tcell.KeyDown)
		case 'k':
			m.move(tcell.KeyUp)
		case 'g':
			m.move(tcell.KeyHome)
		case 'G':
			m.move(tcell.KeyEnd)
		}
	case tcell.KeyEscape:
		if m.filter != "" {
			m.filter = ""
		} else {
			m.selected = false
		}
	case tcell.KeyUp, tcell.KeyDown, tcell.KeyPgUp, tcell.KeyPgDn, tcell.KeyHome, tcell.KeyEnd:
		m.move(ev.Key())
	}
	return Redraw
}

// move moves the selection; the first move selects the top row.
func (m *Model) move(k tcell.Key) {
	rows := m.Rows()
	if len(rows) == 0 {
		m.selected = false
		return
	}
	i := m.selIndex(rows)
	switch {
	case i < 0:
		i = 0
		if k == tcell.KeyEnd || k == tcell.KeyUp {
			i = len(rows) - 1
		}
	case k == tcell.KeyUp:
		i--
	case k == tcell.KeyDown:
		i++
	case k == tcell.KeyPgUp:
		i -= 10
	case k == tcell.KeyPgDn:
		i += 10
	case k == tcell.KeyHome:
		i = 0
	case k == tcell.KeyEnd:
		i = len(rows) - 1
	}
	i = max(0, min(i, len(rows)-1))
	m.selected, m.sel = true, keyOf(&rows[i])
}

// selIndex is the selected row's index in rows, or -1.
func (m *Model) selIndex(rows []trace.Row) int {
	if !m.selected {
		return -1
	}
	return slices.IndexFunc(rows, func(r trace.Row) bool { return keyOf(&r) == m.sel })
}

// program is the PROGRAM column of a row.
func (m *Model) program(r *trace.Row) string {
	if r.Kind != trace.KindProcess {
		return r.Name
	}
	if isGroup(r) {
		return m.groupProgram(r)
	}
	name := r.Name
	if m.basename {
		// The program is the first word: "sshd: root@pts/0" stays whole.
		first, rest, found := strings.Cut(name, " ")
		if strings.Contains(first, "/") {
			first = path.Base(first)
		}
		name = first
		if found {
			name += " " + rest
		}
	}
	if m.cmdline && r.Args != "" {
		name += " " + r.Args
	}
	return name
}

// user names a uid, with a cache.
func (m *Model) user(uid uint32) string { return m.users.Name(uid) }

// device is the DEV column of a row: the one monitored device, else the
// device whose addresses hold the local ends of the row's connections
// ("eth0+" when they are on several), "?" when none is known, "" for rows
// without connections.
func (m *Model) device(r *trace.Row) string {
	if len(m.cfg.Devices) == 1 {
		return m.cfg.Devices[0].Name
	}
	var names []string
	for _, c := range r.Conns {
		n := m.deviceOf(c.Local.Addr())
		if n == "" {
			n = "?"
		}
		if !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	switch len(names) {
	case 0:
		return ""
	case 1:
		return names[0]
	}
	// A known device before "?".
	if names[0] == "?" {
		names[0], names[1] = names[1], names[0]
	}
	return names[0] + "+"
}

// deviceOf names the monitored device that has address a ("" if none); a
// loopback address belongs to the device holding loopback addresses.
func (m *Model) deviceOf(a netip.Addr) string {
	a = a.Unmap()
	for _, d := range m.cfg.Devices {
		for _, da := range d.Addrs {
			if da.Unmap() == a || (a.IsLoopback() && da.IsLoopback()) {
				return d.Name
			}
		}
	}
	return ""
}
