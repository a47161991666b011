package report

import (
	"bytes"
	"cmp"
	"hash/maphash"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
	"unsafe"

	"github.com/gohogs/gohogs/trace/nethogs"
)

// entry is one process row of one refresh, in the view mode's unit as logged.
type entry struct {
	proc       int32
	sent, recv float64
}

// pair is a process's running totals in bytes (cumulative view modes).
type pair struct{ sent, recv float64 }

// runState is what the files of one run read so far leave for the next:
// the time of its next refresh and, in the cumulative modes, each
// process's last running total.
type runState struct {
	done    int // the highest seq such that seq 1..done were all read
	offset  time.Duration
	last    map[int32]pair
	pending []*segment // files that came before an earlier file of the run
}

// cursor reads a run on from a runState without changing it, so that a
// stretch found to be a duplicate at its end leaves the run as it was.
type cursor struct {
	base   *runState // nil for a run of its own
	offset time.Duration
	last   map[int32]pair
}

func (c *cursor) prev(proc int32) pair {
	if p, ok := c.last[proc]; ok {
		return p
	}
	if c.base != nil {
		return c.base.last[proc]
	}
	return pair{}
}

// commit makes what c read part of its run.
func (c *cursor) commit(seq int) {
	rs := c.base
	if rs == nil {
		return
	}
	rs.offset = c.offset
	if len(c.last) > 0 && rs.last == nil {
		rs.last = make(map[int32]pair, len(c.last))
	}
	for k, v := range c.last {
		rs.last[k] = v
	}
	rs.done = max(rs.done, seq)
}

// segment is a stretch of trace log read with one set of settings: a file,
// or the part of a concatenated input after a header or new start-up lines.
type segment struct {
	file     string
	delay    time.Duration
	view     int
	auto     bool // view mode was assumed (ViewAuto, no header)
	run      string
	seq      int
	start    time.Time    // zero when unknown
	startLn  int          // first line number of the segment
	order    int          // the segment's number in the report, in input order
	sum      maphash.Hash // of the segment's lines, to spot a file given twice
	blocks   int          // refresh blocks read
	open     bool         // a refresh block is being read
	inBlock  bool         // process rows are expected
	hasBlock bool
	header   bool // settings came from a header line
	nameMiss bool // NameTime set but the file name does not match it
	check    bool // the view-mode check applies
	vgen     uint32
	maxGrows int
	drops    int

	block []entry // the rows of the refresh block being read

	// A stretch whose run's earlier files are all read is counted as it
	// is read (live) into tally, reading its run on with cur; any other
	// waits, its blocks kept in stored, until they are (or Rows).
	live   bool
	rs     *runState
	tally  *tally
	cur    cursor
	stored []entry
	starts []int // start of each stored block in stored
}

// traceInput reads one trace log.
type traceInput struct {
	r       *Report
	file    string
	seg     *segment
	started bool   // the input's first segment was made
	id      []byte // the NAME/PID/UID field of the process row being applied
}

func (r *Report) newTraceInput(name string) *traceInput {
	p := &traceInput{r: r, file: name}
	p.newSegment(nil, 1)
	return p
}

// line parses and applies one trace line. The parser reads the line in
// place (see the package doc): nothing it returns is kept past this call
// but clones.
func (p *traceInput) line(raw []byte, lineNo int, tooLong bool) error {
	var err error
	if !tooLong {
		// The grammar's parser directly (not ParseLine): a process row is
		// then copied once less, and this is the path of every row.
		line := unsafe.String(unsafe.SliceData(raw), len(raw))
		var ln nethogs.Line
		if ln, err = nethogs.ParseLine(line); err == nil {
			var h Header
			switch ln.Kind {
			case KindProcess:
				p.id = raw[:bytes.IndexByte(raw, '\t')]
			case KindHeader:
				h, err = parseHeader(line)
			}
			if err == nil {
				err = p.apply(ln.Kind, &ln.Proc, &h, lineNo)
			}
		}
	}
	hashLine(&p.seg.sum, raw)
	return err
}

// newSegment closes the current segment and starts one with h's settings,
// or the options' when h is nil.
func (p *traceInput) newSegment(h *Header, lineNo int) {
	p.finish()
	r := p.r
	r.nseg++
	s := &segment{file: p.file, startLn: lineNo, sum: r.newSum(), order: r.nseg}
	switch {
	case h != nil:
		s.delay, s.view, s.seq = h.Delay, h.ViewMode, h.Seq
		s.run, s.header = strings.Clone(h.Run), true
		s.start, _ = h.Start()
	default:
		s.delay, s.view = r.opts.Delay, r.opts.ViewMode
		if s.view == ViewAuto {
			s.view, s.auto = ViewKBps, true
		}
		if !p.started && r.opts.NameTime != "" {
			// Only the input's beginning starts when its name says.
			var ok bool
			s.start, ok = ParseNameTime(r.opts.NameTime, filepath.Base(p.file), r.opts.Location)
			s.nameMiss = !ok
		}
	}
	p.started = true
	if s.run == "" {
		r.anon++
		s.run = "\x00anon" + strconv.Itoa(r.anon)
	} else {
		s.rs = r.runs[s.run]
		if s.rs == nil {
			s.rs = &runState{}
			r.runs[s.run] = s.rs
		}
	}
	_, cumulative := Unit(s.view)
	s.check = s.auto || cumulative && !s.header
	if s.check {
		s.vgen = r.view.start()
	}
	s.live = s.rs == nil || s.seq == 0 || s.seq <= s.rs.done+1
	if s.live {
		s.tally = newTally(&r.refresh)
		s.cur = cursor{base: s.rs}
		if s.rs != nil {
			s.cur.offset = s.rs.offset
		}
	}
	p.seg = s
}

// apply applies one parsed line; an error means the line is out of place.
func (p *traceInput) apply(kind Kind, pr *Proc, h *Header, lineNo int) error {
	s := p.seg
	switch kind {
	case KindHeader:
		if s.hasBlock || s.header {
			p.newSegment(h, lineNo)
		} else {
			// Only start-up lines so far: the header applies to them.
			p.seg = nil
			p.newSegment(h, s.startLn)
		}
	case KindStartup:
		if s.hasBlock {
			// A new run's start-up lines (logs concatenated).
			p.newSegment(nil, lineNo)
		}
		p.seg.inBlock = false
	case KindRefreshing:
		p.endBlock()
		s.open, s.inBlock, s.hasBlock = true, true, true
	case KindProcess:
		if !s.inBlock {
			return nethogs.Malformed("process row outside a refresh block (no Refreshing: line before it)")
		}
		proc, ok := p.r.idIndex[string(p.id)]
		if !ok {
			proc = p.r.procOf(pr.Name, pr.PID, pr.UID)
			p.r.idIndex[string(p.id)] = proc
		}
		if s.check {
			p.r.view.row(s, proc, pr.Sent, pr.Recv)
		}
		s.block = append(s.block, entry{proc: proc, sent: pr.Sent, recv: pr.Recv})
	}
	return nil
}

// endBlock closes the refresh block being read: counts it, or keeps it
// for later.
func (p *traceInput) endBlock() {
	s := p.seg
	if !s.open {
		return
	}
	s.open = false
	s.blocks++
	if s.live {
		p.r.traceRefresh(s, &s.cur, s.tally, s.block)
	} else {
		s.starts = append(s.starts, len(s.stored))
		s.stored = append(s.stored, s.block...)
	}
	s.block = s.block[:0]
}

// finish closes the current segment: keeps it if it has refreshes and is
// not a duplicate, and gives the warnings about it.
func (p *traceInput) finish() {
	s := p.seg
	if s == nil {
		return
	}
	p.endBlock()
	p.seg = nil
	r := p.r
	if s.blocks == 0 {
		return
	}
	if s.seq > 0 {
		// The same run and seq with other content is not a duplicate: a
		// file reopened after logrotate moved it begins with the same header.
		k := s.run + "\x00" + strconv.Itoa(s.seq) + "\x00" + strconv.FormatUint(s.sum.Sum64(), 16)
		if first, dup := r.runSeq[k]; dup {
			r.warnings = append(r.warnings, Warning{Kind: WarnDuplicate, File: s.file, Line: s.startLn,
				Reason: "same run " + s.run + ", seq " + strconv.Itoa(s.seq) + " and content as " + first + ": skipped, not counted twice"})
			return
		}
		r.runSeq[k] = s.file
	}
	if s.nameMiss {
		r.warnings = append(r.warnings, Warning{Kind: WarnNameTime, File: s.file,
			Reason: "name does not match the name-time pattern " + strconv.Quote(r.opts.NameTime) + ": refresh times unknown"})
	}
	if s.check {
		r.view.verdict(r, s)
	}
	if s.start.IsZero() && r.opts.timed() {
		r.warnings = append(r.warnings, Warning{Kind: WarnNoTime, File: s.file, Line: lineOrWhole(s.startLn),
			Reason: strconv.Itoa(s.blocks) + " refreshes have no time (no gohogs header, no --name-time): left out of the time buckets and range",
			Count:  s.blocks})
	}
	r.kept = append(r.kept, stretch{run: s.run, seq: s.seq, header: s.header})
	s.block = nil
	if !s.live {
		s.rs.pending = append(s.rs.pending, s)
		return
	}
	s.cur.commit(s.seq)
	r.total.merge(s.tally.agg)
	s.tally, s.cur = nil, cursor{}
	if s.rs != nil {
		r.flushPending(s.rs)
	}
}

// lineOrWhole returns the line number of a stretch, or 0 (the whole input)
// when it starts at line 1.
func lineOrWhole(n int) int {
	if n == 1 {
		return 0
	}
	return n
}

// flushPending counts the waiting files of rs that its files read now
// reach, in seq order.
func (r *Report) flushPending(rs *runState) {
	slices.SortStableFunc(rs.pending, func(a, b *segment) int { return cmp.Compare(a.seq, b.seq) })
	for len(rs.pending) > 0 && rs.pending[0].seq <= rs.done+1 {
		s := rs.pending[0]
		rs.pending = rs.pending[1:]
		cur := cursor{base: rs, offset: rs.offset}
		r.total.merge(r.replay(s, &cur))
		cur.commit(s.seq)
	}
}

// replay counts a waiting segment's blocks, reading its run on with cur.
func (r *Report) replay(s *segment, cur *cursor) *agg {
	t := newTally(&r.refresh)
	for i, start := range s.starts {
		end := len(s.stored)
		if i+1 < len(s.starts) {
			end = s.starts[i+1]
		}
		r.traceRefresh(s, cur, t, s.stored[start:end])
	}
	return t.agg
}

// traceRefresh counts one refresh block of s into t: in bytes, at its
// time, when the options select it. In the cumulative modes the bytes are
// the growth of each process's running total since the run's previous
// refresh (a running total that shrinks has restarted: its value counts).
func (r *Report) traceRefresh(s *segment, cur *cursor, t *tally, rows []entry) {
	unit, cumulative := Unit(s.view)
	var at time.Time
	if !s.start.IsZero() {
		at = s.start.Add(cur.offset)
	}
	cur.offset = addDur(cur.offset, s.delay)
	bucket, counted := r.place(at)
	if !counted && !cumulative {
		return
	}
	if counted {
		t.begin(bucket, at, s.delay)
	}
	dsec := s.delay.Seconds()
	for _, e := range rows {
		sent, recv := e.sent*unit, e.recv*unit
		if cumulative {
			p := cur.prev(e.proc)
			if sent < p.sent || recv < p.recv {
				p = pair{} // restarted
			}
			if cur.last == nil {
				cur.last = make(map[int32]pair)
			}
			cur.last[e.proc] = pair{sent, recv}
			sent, recv = sent-p.sent, recv-p.recv
		} else {
			sent, recv = sent*dsec, recv*dsec
		}
		if counted {
			t.add(e.proc, r.traceGroup(e.proc), sent, recv)
		}
	}
	if counted {
		t.end()
	}
}

// place returns the bucket of a refresh taken at at, and whether the
// options count it at all.
func (r *Report) place(at time.Time) (bucket int64, counted bool) { return r.opts.place(at) }

// place is Report.place; it only reads o, so JSON workers call it at once.
func (o *Options) place(at time.Time) (bucket int64, counted bool) {
	if !o.timed() {
		return 0, true
	}
	if at.IsZero() || !o.Since.IsZero() && at.Before(o.Since) || !o.Until.IsZero() && !at.Before(o.Until) {
		return 0, false
	}
	if o.Every <= 0 {
		return 0, true
	}
	return BucketStart(at, o.Every, o.Location).UnixNano(), true
}
