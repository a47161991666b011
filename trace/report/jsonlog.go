package report

import (
	"bytes"
	"unsafe"
)

// jsonWorker counts the refresh lines it is given into a tally of its own,
// with its own numbering of processes and groups (renumbered into the
// report's when the log is merged), so that workers need not share
// anything: the lines of one log are counted in any order, since a JSON
// refresh carries its own time and a tally's sums do not depend on the
// order (byte counts are whole numbers, exact in a float64 up to 2^53).
type jsonWorker struct {
	opts *Options // read only
	ids
	p     lineParser
	tally *tally
	stamp uint64
	// A name, unit, container or remote is looked up as written (escapes
	// and all); only the first time is it decoded (text) and numbered.
	rawProc   map[procKey]int32
	fact      map[string]int32
	procCache *rawCache // nil for the first few refreshes: small inputs need none
	factCache *rawCache
	refreshes int
	scratch   []byte
	text      [3][]byte
}

func newJSONWorker(opts *Options) *jsonWorker {
	w := &jsonWorker{opts: opts, ids: newIDs(opts.By), rawProc: make(map[procKey]int32), fact: make(map[string]int32)}
	w.tally = newTally(&w.stamp)
	return w
}

// line reads one refresh line and counts it when the options select it;
// it returns why the line is malformed, if it is.
func (w *jsonWorker) line(raw []byte) error {
	p := &w.p
	if err := p.parse(raw); err != nil {
		return err
	}
	if w.refreshes++; w.refreshes == 8 {
		w.procCache, w.factCache = new(rawCache), new(rawCache)
	}
	if bucket, counted := w.opts.place(p.at); counted {
		w.count(bucket)
	}
	return nil
}

// count adds the refresh just parsed to the tally.
func (w *jsonWorker) count(bucket int64) {
	p, t := &w.p, w.tally
	t.begin(bucket, p.at, p.dur)
	for i := range p.rows {
		lr := &p.rows[i]
		proc := w.procOf(lr)
		sent, recv := lr.sent.v, lr.recv.v
		switch w.by {
		case ByUnit:
			g := w.placeholder(NoUnit)
			if lr.unit.state == fieldOK && lr.unit.end > lr.unit.start {
				g = w.factOf('u', lr.unit, strField{}, strField{})
			}
			t.add(proc, g, float64(sent), float64(recv))
		case ByContainer:
			g := w.placeholder(NoContainer)
			if lr.container == fieldOK && (lr.cid.end > lr.cid.start || lr.cname.end > lr.cname.start) {
				g = w.factOf('c', lr.runtime, lr.cid, lr.cname)
			}
			t.add(proc, g, float64(sent), float64(recv))
		case ByRemote:
			var cs, cr uint64
			for _, c := range p.conns[lr.connStart:lr.connEnd] {
				t.add(proc, w.remoteOf(&c), float64(c.sent.v), float64(c.recv.v))
				cs, cr = cs+c.sent.v, cr+c.recv.v
			}
			// What no connection carries (the unknown rows) has no remote.
			if ls, lr2 := sent-min(cs, sent), recv-min(cr, recv); ls > 0 || lr2 > 0 || lr.connEnd == lr.connStart {
				t.add(proc, w.placeholder(NoRemote), float64(ls), float64(lr2))
			}
		default:
			t.add(proc, w.procGroupOf(proc), float64(sent), float64(recv))
		}
	}
	t.end()
}

// procOf returns the process of a row.
func (w *jsonWorker) procOf(lr *lineRow) int32 {
	raw := w.p.raw(lr.name)
	slot := w.procCache.slot(raw, int64(lr.pid.v), int64(lr.uid.v))
	if i, ok := w.procCache.get(slot, raw, int64(lr.pid.v), int64(lr.uid.v)); ok {
		return i
	}
	k := procKey{unsafe.String(unsafe.SliceData(raw), len(raw)), int(lr.pid.v), uint32(lr.uid.v)}
	i, ok := w.rawProc[k]
	if !ok {
		w.text[0] = w.p.text(lr.name, w.text[0])
		i = w.ids.procOf(string(w.text[0]), k.pid, k.uid)
		k.name = string(raw)
		w.rawProc[k] = i
	} else {
		k.name = string(raw)
	}
	w.procCache.put(slot, k.name, int64(k.pid), int64(k.uid), i)
	return i
}

// factOf returns the group of a unit ('u'), container ('c': runtime, id,
// name) or remote ('r', its name), adding it when new.
func (w *jsonWorker) factOf(kind byte, a, b, c strField) int32 {
	p := &w.p
	var slot int
	if kind != 'c' {
		slot = w.factCache.slot(p.raw(a), int64(kind), 0)
		if g, ok := w.factCache.get(slot, p.raw(a), int64(kind), 0); ok {
			return g
		}
	}
	k := append(w.scratch[:0], kind, 0)
	k = append(append(append(append(append(k, p.raw(a)...), 0), p.raw(b)...), 0), p.raw(c)...)
	w.scratch = k
	g, ok := w.fact[string(k)]
	if !ok {
		g = w.newFact(kind, a, b, c)
		w.fact[string(k)] = g
	}
	if kind != 'c' {
		w.factCache.put(slot, string(p.raw(a)), int64(kind), 0, g)
	}
	return g
}

// newFact numbers the group of a fact seen for the first time.
func (w *jsonWorker) newFact(kind byte, a, b, c strField) int32 {
	p := &w.p
	for i, f := range []strField{a, b, c} {
		w.text[i] = w.text[i][:0]
		if f.state == fieldOK {
			w.text[i] = p.text(f, w.text[i])
		}
	}
	gk := groupKey{uid: -1}
	switch kind {
	case 'u':
		gk.unit = string(w.text[0])
	case 'c':
		gk.container = Container{Runtime: string(w.text[0]), ID: string(w.text[1]), Name: string(w.text[2])}
	default:
		gk.remote = string(w.text[0])
	}
	return w.groupOf(gk)
}

// remoteOf returns the group of a connection's remote end: its name, else
// its address without the port.
func (w *jsonWorker) remoteOf(c *lineConn) int32 {
	if c.remoteName.state == fieldOK && c.remoteName.end > c.remoteName.start {
		return w.factOf('r', c.remoteName, strField{}, strField{})
	}
	if c.remote.esc {
		// The port is cut from the text, after the escapes.
		w.text[0] = w.p.text(c.remote, w.text[0])
		host := remoteHost(w.text[0])
		k := append(append(w.scratch[:0], 'e', 0), host...)
		w.scratch = k
		if g, ok := w.fact[string(k)]; ok {
			return g
		}
		g := w.groupOf(groupKey{uid: -1, remote: string(host)})
		w.fact[string(k)] = g
		return g
	}
	// Escapes aside, cutting the port commutes with decoding: the bytes
	// that are not UTF-8 are never ':', '[' or ']'.
	host := c.remote
	i, j := hostSpan(w.p.raw(host))
	host.start, host.end = c.remote.start+int32(i), c.remote.start+int32(j)
	return w.factOf('h', host, strField{}, strField{})
}

// remoteHost returns the address of "ADDR:PORT" or "[ADDR]:PORT" without
// the port (the whole when it has none).
func remoteHost(s []byte) []byte {
	i, j := hostSpan(s)
	return s[i:j]
}

// hostSpan returns where remoteHost's address is in s: s[i:j].
func hostSpan(s []byte) (i, j int) {
	if len(s) > 0 && s[0] == '[' {
		if k := bytes.IndexByte(s, ']'); k > 0 {
			return 1, k
		}
		return 0, len(s)
	}
	if k := bytes.LastIndexByte(s, ':'); k > 0 && bytes.IndexByte(s[:k], ':') < 0 {
		return 0, k
	}
	return 0, len(s)
}
