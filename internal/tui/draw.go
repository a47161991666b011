package tui

import (
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/gdamore/tcell/v2"
	"github.com/rivo/uniseg"

	"github.com/gohogs/gohogs/trace"
)

// Fixed column widths, as nethogs has them.
const (
	pidWidth   = 7
	userWidth  = 8
	valueWidth = 11
	unitWidth  = 5 // "bytes", the longest unit
	progX      = pidWidth + 1 + userWidth + 1
	// serviceWidth is the widest the SERVICE column gets (key c), and
	// minProgram the narrowest it leaves PROGRAM.
	serviceWidth = 20
	minProgram   = 12
)

// Styles.
var (
	styleNormal   = tcell.StyleDefault
	styleTitle    = tcell.StyleDefault.Reverse(true)
	styleSelected = tcell.StyleDefault.Reverse(true).Bold(true)
	styleTotal    = tcell.StyleDefault.Bold(true)
	styleDim      = tcell.StyleDefault.Dim(true)
	styleHeading  = tcell.StyleDefault.Bold(true).Underline(true)
)

// layout is the table's geometry for one screen width.
type layout struct {
	svcW, progX, progW, devW int
	devX, sentX, recvX       int
	unitX, width, height     int
}

// newLayout lays the table out; with service, the SERVICE column takes
// up to serviceWidth columns of the program's, leaving it minProgram.
func newLayout(w, h, devW int, service bool) layout {
	l := layout{width: w, height: h, devW: devW, progX: progX}
	l.progW = w - progX - 2 - devW - (valueWidth+1)*2 - unitWidth
	if service {
		l.svcW = min(serviceWidth, l.progW-minProgram-1)
		if l.svcW < 4 {
			l.svcW = 0
		} else {
			l.progX += l.svcW + 1
			l.progW -= l.svcW + 1
		}
	}
	l.devX = l.progX + l.progW + 2
	l.sentX = l.devX + devW
	l.recvX = l.sentX + valueWidth + 1
	l.unitX = l.recvX + valueWidth + 1
	return l
}

// Draw paints the whole screen from the model's state; the caller shows it.
func (m *Model) Draw(scr tcell.Screen) {
	scr.Clear()
	scr.HideCursor()
	w, h := scr.Size()
	if w < MinWidth {
		for i, line := range strings.Split(TooNarrow, "\n") {
			put(scr, 0, i, line, w, styleNormal)
		}
		return
	}
	rows := m.Rows()
	// DEV fits the monitored devices' names, and a space; with several,
	// "+" marks a process on more than one.
	devW, extra := 3, 1
	if len(m.cfg.Devices) > 1 {
		extra = 2
	}
	for _, d := range m.cfg.Devices {
		devW = max(devW, width(d.Name)+extra)
	}
	devW = min(devW, 10)
	l := newLayout(w, h, devW, m.service)

	put(scr, 0, 0, "gohogs version "+m.cfg.Version, w, styleNormal)
	m.drawInfo(scr, w, len(rows))
	svc := ""
	if l.svcW > 0 {
		svc = fmt.Sprintf("%-*s ", l.svcW, "SERVICE")
	}
	title := fmt.Sprintf("%*s %-*s %s%-*s  %-*s%*s %*s", pidWidth, "PID", userWidth, "USER", svc,
		l.progW, "PROGRAM", devW, "DEV", valueWidth, "SENT", valueWidth, "RECEIVED")
	if h > 2 {
		put(scr, 0, 2, pad(title, w), w, styleTitle)
	}

	// Rows 3 .. h-2 hold the table, the TOTAL row and the details; the
	// last line the keys.
	avail := max(0, h-4)
	sel := m.selIndex(rows)
	var details []line
	if sel >= 0 {
		details = m.details(scr, &rows[sel], w)
	}
	dh := 0
	if len(details) > 0 {
		dh = min(len(details)+1, avail-2-min(len(rows), 5))
		if dh < 4 {
			dh = 0
		}
	}
	tableRows := max(0, min(len(rows), avail-2-dh))
	if sel >= 0 {
		if sel < m.top {
			m.top = sel
		}
		if tableRows > 0 && sel >= m.top+tableRows {
			m.top = sel - tableRows + 1
		}
	}
	m.top = max(0, min(m.top, len(rows)-tableRows))

	var sentSum, recvSum float64
	el := m.snapElapsed()
	for i := range rows {
		r := &rows[i]
		sentSum += m.mode.Value(r.Sent, r.TotalSent, el)
		recvSum += m.mode.Value(r.Recv, r.TotalRecv, el)
	}
	for i := 0; i < tableRows; i++ {
		idx := m.top + i
		m.drawRow(scr, l, 3+i, &rows[idx], m.device(&rows[idx]), idx == sel)
	}
	y := 3 + tableRows
	if hidden := len(rows) - tableRows; hidden > 0 && y < h-1 {
		put(scr, l.progX, y, fmt.Sprintf("(%d more: arrows or j/k scroll)", hidden), l.progW+devW, styleDim)
	}
	y++
	if y < h-1 {
		label := "TOTAL"
		if m.filter != "" {
			label = "TOTAL (filtered)"
		}
		put(scr, 2, y, label, l.devX-2, styleTotal)
		put(scr, l.sentX, y, fmt.Sprintf("%*.3f %*.3f %s", valueWidth, sentSum, valueWidth, recvSum, m.mode.Unit()), w-l.sentX, styleTotal)
	}
	if n := dh - 1; n > 0 && len(details) > n {
		details = append(details[:n-1], line{fmt.Sprintf("  ... %d more lines (a taller terminal shows them)", len(details)-n+1), styleDim})
	}
	for i := 0; i < dh-1 && i < len(details); i++ {
		d := details[i]
		put(scr, 0, y+2+i, d.text, w, d.style)
	}
	m.drawKeys(scr, w, h)
}

func (m *Model) snapElapsed() (el time.Duration) {
	if m.snap != nil {
		el = m.snap.Elapsed
	}
	return el
}

// drawInfo writes the second line: a status message at the left, the sort
// column, unit and row count at the right.
func (m *Model) drawInfo(scr tcell.Screen, w, n int) {
	if m.status != "" {
		put(scr, 0, 1, m.status, w, styleNormal)
	}
	col := "RECEIVED"
	if m.bySent {
		col = "SENT"
	}
	rows := "rows"
	if n == 1 {
		rows = "row"
	}
	info := fmt.Sprintf("%d %s, sorted by %s, %s", n, rows, col, m.mode.Unit())
	if m.grouped {
		info = "by container/unit, " + info
	}
	if m.filter != "" {
		info = fmt.Sprintf("filter %q: ", m.filter) + info
	}
	if m.paused {
		info = "PAUSED (p resumes)  " + info
	}
	x := w - width(info)
	if x > width(m.status)+1 {
		put(scr, x, 1, info, w-x, styleDim)
	}
}

// drawRow writes one process row.
func (m *Model) drawRow(scr tcell.Screen, l layout, y int, r *trace.Row, dev string, selected bool) {
	st := styleNormal
	if selected {
		st = styleSelected
		put(scr, 0, y, strings.Repeat(" ", l.width), l.width, st)
	}
	pid := "?"
	if r.PID != 0 {
		pid = strconv.Itoa(r.PID)
	} else if isGroup(r) {
		pid = "*"
	}
	pid = fmt.Sprintf("%*s", pidWidth, pid)
	if selected && pid[0] == ' ' {
		pid = ">" + pid[1:]
	}
	put(scr, 0, y, pid, pidWidth, st)
	put(scr, pidWidth+1, y, m.user(r.UID), userWidth, st)
	if l.svcW > 0 {
		put(scr, progX, y, cutLeft(service(r), l.svcW), l.svcW, st)
	}
	put(scr, l.progX, y, m.fitProgram(m.program(r), l.progW), l.progW, st)
	put(scr, l.devX, y, dev, l.devW, st)
	el := m.snapElapsed()
	vals := fmt.Sprintf("%*.3f %*.3f %s", valueWidth, m.mode.Value(r.Sent, r.TotalSent, el),
		valueWidth, m.mode.Value(r.Recv, r.TotalRecv, el), m.mode.Unit())
	put(scr, l.sentX, y, vals, l.width-l.sentX, st)
}

// fitProgram cuts a program name to n columns as nethogs does, keeping its
// end ("..bin/prog"); a command line keeps its beginning instead.
func (m *Model) fitProgram(s string, n int) string {
	if m.cmdline {
		return cutRight(s, n)
	}
	return cutLeft(s, n)
}

// line is one line of the details panel.
type line struct {
	text  string
	style tcell.Style
}

// details are the lines about the selected row.
func (m *Model) details(scr tcell.Screen, r *trace.Row, w int) []line {
	var out []line
	add := func(style tcell.Style, format string, args ...any) {
		out = append(out, line{fmt.Sprintf(format, args...), style})
	}
	who := "pid " + strconv.Itoa(r.PID)
	switch {
	case isGroup(r):
		who = "container or unit"
	case r.PID == 0:
		who = "no process"
	}
	add(styleHeading, "%s", pad(fmt.Sprintf(" %s  %s  user %s", r.Name, who, m.user(r.UID)), w))
	if !isGroup(r) {
		cmd := strings.Join(r.Cmdline, " ")
		if cmd == "" {
			cmd = r.Name
		}
		for _, part := range wrap("command: "+cmd, w, 3) {
			add(styleNormal, "%s", part)
		}
	}
	for _, s := range m.serviceDetails(r, w) {
		add(styleNormal, "%s", s)
	}
	el := m.snapElapsed()
	rate := func(b uint64) string {
		if el <= 0 {
			return "-"
		}
		return humanRate(float64(b) / el.Seconds())
	}
	add(styleNormal, "total:   sent %s, received %s; last refresh: sent %s, received %s",
		humanBytes(float64(r.TotalSent)), humanBytes(float64(r.TotalRecv)), rate(r.Sent), rate(r.Recv))

	levels := sparkLevels
	if cs := strings.ToUpper(scr.CharacterSet()); cs != "UTF-8" && cs != "UTF8" {
		levels = asciiLevels
	}
	n := min(60, w-30)
	if h := m.hist[keyOf(r)]; h != nil && n > 0 && m.snap != nil {
		sr, sc := h.rates(n, m.snap.Time, true)
		rr, rc := h.rates(n, m.snap.Time, false)
		peak := max(slices.Max(sr), slices.Max(rr))
		add(styleNormal, "sent     %s  peak %s", sparkline(sr, sc, peak, levels), humanRate(slices.Max(sr)))
		add(styleNormal, "received %s  peak %s", sparkline(rr, rc, peak, levels), humanRate(slices.Max(rr)))
		add(styleDim, "         %-*s", n, fmt.Sprintf("last %d s, one column per %.0f s, same scale", int(HistoryWindow.Seconds()), HistoryWindow.Seconds()/float64(n)))
	}

	switch {
	case len(r.Conns) > 0:
		conns := slices.Clone(r.Conns)
		slices.SortStableFunc(conns, func(a, b trace.Conn) int {
			if d := (b.Sent + b.Recv); d != a.Sent+a.Recv {
				if d > a.Sent+a.Recv {
					return 1
				}
				return -1
			}
			return strings.Compare(a.Remote.String(), b.Remote.String())
		})
		add(styleNormal, "connections: %d", len(conns))
		for _, c := range conns {
			add(styleNormal, "  %-4s %s -> %s  sent %s  received %s", c.Proto, c.Local, remoteText(c), rate(c.Sent), rate(c.Recv))
		}
	case r.Kind == trace.KindUnknownTCP && m.snap != nil && len(m.snap.UnknownConns) > 0:
		add(styleNormal, "connections with no known process: %d", len(m.snap.UnknownConns))
		for _, c := range m.snap.UnknownConns {
			add(styleNormal, "  %-4s %s", c.Proto, c)
		}
	default:
		add(styleNormal, "connections: none in the last 50 s")
	}
	return out
}

// remoteText is a connection's remote end as the details list it: with
// the DNS name it was resolved from, when known, and its port, the address
// after in parentheses ("files.example.test:443 (10.1.2.3)").
func remoteText(c trace.Conn) string {
	if c.RemoteName == "" {
		return c.Remote.String()
	}
	return net.JoinHostPort(c.RemoteName, strconv.Itoa(int(c.Remote.Port()))) + " (" + c.Remote.Addr().String() + ")"
}

// drawKeys writes the last line: the filter being typed, or the keys.
func (m *Model) drawKeys(scr tcell.Screen, w, h int) {
	if h < 2 {
		return
	}
	if m.editing {
		s := "filter: " + m.filter
		put(scr, 0, h-1, s, w, styleNormal)
		if x := width(s) + 2; x < w {
			put(scr, x, h-1, "(enter keeps it, esc clears)", w-x, styleDim)
		}
		scr.ShowCursor(min(width(s), w-1), h-1)
		return
	}
	keys := "q quit  s/r sort  m units  l cmdline  b basename  c service  u group  up/down select  / filter  p pause"
	if m.filter != "" || m.selected {
		keys += "  esc clear"
	}
	put(scr, 0, h-1, keys, w, styleDim)
}

// cluster is one grapheme cluster of a string and the columns it takes.
type cluster struct {
	runes []rune
	width int
}

// clusters splits s into what the terminal shows: grapheme clusters with
// their widths. A cluster holding a control character (process names are
// untrusted: an escape sequence must not reach the terminal) or an invalid
// byte becomes '?'; clusters of no width are dropped.
func clusters(s string) []cluster {
	if printableASCII(s) {
		out := make([]cluster, len(s))
		rs := []rune(s)
		for i := range rs {
			out[i] = cluster{rs[i : i+1], 1}
		}
		return out
	}
	var out []cluster
	g := uniseg.NewGraphemes(s)
	for g.Next() {
		rs := g.Runes()
		bad := false
		for _, r := range rs {
			if unicode.IsControl(r) || r == utf8.RuneError {
				bad = true
			}
		}
		switch w := g.Width(); {
		case bad:
			out = append(out, cluster{[]rune{'?'}, 1})
		case w > 0:
			out = append(out, cluster{rs, w})
		}
	}
	return out
}

func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// width is how many columns s takes.
func width(s string) int {
	if printableASCII(s) {
		return len(s)
	}
	n := 0
	for _, c := range clusters(s) {
		n += c.width
	}
	return n
}

func join(cs []cluster) string {
	var b strings.Builder
	for _, c := range cs {
		b.WriteString(string(c.runes))
	}
	return b.String()
}

// cutRight keeps the start of s in n columns, ending in ".." when cut.
func cutRight(s string, n int) string {
	cs := clusters(s)
	if width(s) <= n {
		return join(cs)
	}
	w, i := 0, 0
	for i < len(cs) && w+cs[i].width <= n-2 {
		w += cs[i].width
		i++
	}
	return join(cs[:i]) + ".."
}

// cutLeft keeps the end of s in n columns, beginning with ".." when cut,
// as nethogs cuts program names.
func cutLeft(s string, n int) string {
	cs := clusters(s)
	if width(s) <= n {
		return join(cs)
	}
	w, i := 0, len(cs)
	for i > 0 && w+cs[i-1].width <= n-2 {
		i--
		w += cs[i].width
	}
	return ".." + join(cs[i:])
}

// put writes s at (x, y) in at most n columns.
func put(scr tcell.Screen, x, y int, s string, n int, st tcell.Style) {
	for _, c := range clusters(s) {
		if c.width > n {
			return
		}
		scr.SetContent(x, y, c.runes[0], c.runes[1:], st)
		x += c.width
		n -= c.width
	}
}

// pad fills s with spaces to n columns.
func pad(s string, n int) string {
	if k := width(s); k < n {
		return s + strings.Repeat(" ", n-k)
	}
	return s
}

// wrap cuts s into lines of at most w columns, at most maxLines of them
// (the last ending in ".." when cut short).
func wrap(s string, w, maxLines int) []string {
	var out []string
	cs := clusters(s)
	for len(cs) > 0 && len(out) < maxLines {
		rest := join(cs)
		if width(rest) <= w {
			return append(out, rest)
		}
		if len(out) == maxLines-1 {
			return append(out, cutRight(rest, w))
		}
		n, i := 0, 0
		for i < len(cs) && n+cs[i].width <= w {
			n += cs[i].width
			i++
		}
		if i == 0 {
			return out
		}
		out = append(out, join(cs[:i]))
		cs = cs[i:]
	}
	return out
}
