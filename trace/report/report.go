package report

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gohogs/gohogs/trace/nethogs"
)

// Options say how to read inputs that have no header line.
type Options struct {
	// Delay is the refresh delay of inputs without a header (nethogs -d);
	// 0 means 1 s, nethogs's default.
	Delay time.Duration
	// ViewMode is the view mode of inputs without a header (nethogs -v),
	// or ViewAuto: read them as ViewKBps and warn when the numbers look
	// cumulative. The zero value is ViewKBps, given explicitly; a number that
	// is not a view mode counts as ViewAuto.
	ViewMode int
	// NameTime, when set, is the strftime pattern that named header-less
	// files after their start time (see ParseNameTime), which then gives
	// their refresh times; Location is its time zone (nil: time.Local).
	NameTime string
	Location *time.Location
	// MaxWarnings caps the malformed-line warnings kept per input (the rest
	// are counted in one more warning); 0 means 100.
	MaxWarnings int
}

// WarningKind classifies a Warning.
type WarningKind int

// The kinds of warnings.
const (
	// WarnMalformed: a line was not understood and was skipped.
	WarnMalformed WarningKind = iota
	// WarnMoreMalformed: more malformed lines than MaxWarnings, skipped
	// and counted in Warning.Count rather than listed.
	WarnMoreMalformed
	// WarnDuplicate: an input had the same run, seq and content as an
	// earlier one (the same file given twice) and was skipped so its
	// traffic is not counted twice.
	WarnDuplicate
	// WarnGap: the files given of one run skip a seq number (a rotated
	// file is missing); nothing was skipped, but the report lacks it.
	WarnGap
	// WarnNameTime: Options.NameTime is set but a header-less input's name
	// does not match it; its refresh times are unknown.
	WarnNameTime
	// WarnViewMode: an input without header and without a given view mode
	// has numbers that only grow, as in a cumulative view mode. It was still
	// read as KB/s; nothing was skipped.
	WarnViewMode
)

// Warning is one problem found in the input.
type Warning struct {
	Kind WarningKind
	// File is the input's name as given to Add; Line its 1-based line
	// number (0 when the warning is about the whole input).
	File string
	Line int
	// Reason says what is wrong.
	Reason string
	// Count is the number of lines skipped that the warning stands for
	// (1 for WarnMalformed; 0 for WarnViewMode).
	Count int
}

// Skipped reports whether the warning means input was left out of the report.
func (w Warning) Skipped() bool { return w.Count > 0 || w.Kind == WarnDuplicate }

// String returns "FILE:LINE: reason" (or "FILE: reason").
func (w Warning) String() string {
	if w.Line > 0 {
		return w.File + ":" + strconv.Itoa(w.Line) + ": " + w.Reason
	}
	return w.File + ": " + w.Reason
}

// procKey identifies one process row across refreshes.
type procKey struct {
	name string
	pid  int
	uid  uint32
}

// entry is one process row of one refresh, in bytes-per-unit as logged.
type entry struct {
	key        int32
	sent, recv float64
}

// segment is a stretch of input read with one set of settings: a file, or
// the part of a concatenated input after a header or new start-up lines.
type segment struct {
	file     string
	delay    time.Duration
	view     int
	auto     bool // view mode was assumed (ViewAuto, no header)
	run      string
	seq      int
	start    time.Time // zero when unknown
	startLn  int       // first line number of the segment
	sum      uint64    // FNV-1a of the segment's lines, to spot a file given twice
	blocks   []int     // start of each refresh block in entries
	entries  []entry
	inBlock  bool
	hasBlock bool
	header   bool // settings came from a header line
	nameMiss bool // NameTime set but the file name does not match it
}

// Report accumulates trace logs and computes per-process totals. The zero
// value is not usable; call New.
type Report struct {
	opts     Options
	segs     []*segment
	keys     []procKey
	keyIndex map[procKey]int32
	warnings []Warning
	runSeq   map[string]string // "run\x00seq\x00sum" -> file that had it
	anon     int               // counter for runs without a Run identifier
}

// New returns an empty Report reading header-less inputs as opts says.
func New(opts Options) *Report {
	if opts.Delay <= 0 {
		opts.Delay = time.Second
	}
	if !nethogs.ViewMode(opts.ViewMode).Valid() {
		opts.ViewMode = ViewAuto // not a view mode
	}
	if opts.MaxWarnings <= 0 {
		opts.MaxWarnings = 100
	}
	return &Report{opts: opts, keyIndex: make(map[procKey]int32), runSeq: make(map[string]string)}
}

// Warnings returns the problems found so far, in input order.
// The last are WarnGap warnings about the runs read so far.
func (r *Report) Warnings() []Warning {
	return append(slices.Clip(r.warnings), r.gaps()...)
}

// gaps returns a WarnGap warning for each run whose files skip a seq number
// between the first and the last given.
func (r *Report) gaps() []Warning {
	seqs := make(map[string][]int)
	var runs []string
	for _, s := range r.segs {
		if !s.header || s.seq == 0 || strings.HasPrefix(s.run, "\x00") {
			continue
		}
		if _, ok := seqs[s.run]; !ok {
			runs = append(runs, s.run)
		}
		seqs[s.run] = append(seqs[s.run], s.seq)
	}
	var out []Warning
	for _, run := range runs {
		q := seqs[run]
		slices.Sort(q)
		q = slices.Compact(q)
		var missing []string
		for i := 1; i < len(q) && len(missing) < 10; i++ {
			for n := q[i-1] + 1; n < q[i] && len(missing) < 10; n++ {
				missing = append(missing, strconv.Itoa(n))
			}
		}
		if len(missing) > 0 {
			out = append(out, Warning{Kind: WarnGap, File: "run " + run,
				Reason: "no file with seq " + strings.Join(missing, ", ") + " among seq " + strconv.Itoa(q[0]) + ".." +
					strconv.Itoa(q[len(q)-1]) + ": its traffic is missing and later refresh times are early"})
		}
	}
	return out
}

// Skipped returns the number of lines left out of the report, and whether
// any input was left out at all (malformed lines or duplicate files).
func (r *Report) Skipped() (lines int, any bool) {
	for _, w := range r.warnings {
		lines += w.Count
		any = any || w.Skipped()
	}
	return lines, any
}

// AddFile reads the trace log at path (gzip-compressed or not).
func (r *Report) AddFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("report: %w", err)
	}
	defer f.Close()
	return r.Add(path, f)
}

// maxLine is the longest line read; longer lines are malformed.
const maxLine = 64 << 10

// Add reads one trace log from rd; name is used in warnings. A log
// compressed with gzip (logrotate's compress) is read transparently. Add
// returns an error only when rd cannot be read; malformed lines become
// warnings. An input that fails part way keeps what was read before.
func (r *Report) Add(name string, rd io.Reader) error {
	br := bufio.NewReaderSize(rd, maxLine)
	compressed := false
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		compressed = true
		zr, err := gzip.NewReader(br)
		if err != nil {
			return fmt.Errorf("report: %s: gzip-compressed, but its gzip header is truncated or corrupt: %w", name, err)
		}
		defer zr.Close()
		br = bufio.NewReaderSize(zr, maxLine)
	}
	p := parser{r: r, file: name}
	p.newSegment(nil, 1)
	malformedN := 0
	lineNo := 0
	for {
		raw, err := br.ReadSlice('\n')
		tooLong := false
		for errors.Is(err, bufio.ErrBufferFull) {
			tooLong = true
			_, err = br.ReadSlice('\n')
		}
		if len(raw) == 0 && err == io.EOF {
			break
		}
		lineNo++
		var perr error
		var ln Line
		if tooLong {
			perr = nethogs.Malformed("line longer than " + strconv.Itoa(maxLine) + " bytes")
		} else {
			ln, perr = ParseLine(string(bytes.TrimSuffix(raw, []byte{'\n'})))
		}
		if perr == nil {
			perr = p.line(ln, lineNo)
		}
		if tooLong {
			raw = nil // overwritten by the reads that skipped the rest
		}
		p.seg.sum = fnv1a(p.seg.sum, raw)
		if perr != nil {
			malformedN++
			if malformedN <= r.opts.MaxWarnings {
				r.warnings = append(r.warnings, Warning{Kind: WarnMalformed, File: name, Line: lineNo, Reason: perr.Error(), Count: 1})
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			p.finish()
			if _, ok := errors.AsType[*fs.PathError](err); ok {
				return fmt.Errorf("report: %w", err) // names the file already
			}
			if compressed {
				return fmt.Errorf("report: read %s: its gzip data is truncated or corrupt after line %d (the lines before are counted): %w", name, lineNo, err)
			}
			return fmt.Errorf("report: read %s: %w", name, err)
		}
	}
	if n := malformedN - r.opts.MaxWarnings; n > 0 {
		r.warnings = append(r.warnings, Warning{Kind: WarnMoreMalformed, File: name,
			Reason: strconv.Itoa(n) + " more malformed lines skipped", Count: n})
	}
	p.finish()
	return nil
}

// parser tracks the segment being read from one input.
type parser struct {
	r       *Report
	file    string
	seg     *segment
	started bool // the input's first segment was made
}

// newSegment closes the current segment and starts one with h's settings,
// or the options' when h is nil.
func (p *parser) newSegment(h *Header, lineNo int) {
	p.finish()
	s := &segment{file: p.file, startLn: lineNo, sum: fnvOffset}
	switch {
	case h != nil:
		s.delay, s.view, s.seq = h.Delay, h.ViewMode, h.Seq
		s.run, s.header = h.Run, true
		s.start, _ = h.Start()
	default:
		s.delay, s.view = p.r.opts.Delay, p.r.opts.ViewMode
		if s.view == ViewAuto {
			s.view, s.auto = ViewKBps, true
		}
		if !p.started && p.r.opts.NameTime != "" {
			// Only the input's beginning starts when its name says.
			var ok bool
			s.start, ok = ParseNameTime(p.r.opts.NameTime, filepath.Base(p.file), p.r.opts.Location)
			s.nameMiss = !ok
		}
	}
	p.started = true
	if s.run == "" {
		p.r.anon++
		s.run = "\x00anon" + strconv.Itoa(p.r.anon)
	}
	p.seg = s
}

// finish closes the current segment: keeps it if it has refreshes and is
// not a duplicate, and runs the view-mode check.
func (p *parser) finish() {
	s := p.seg
	p.seg = nil
	if s == nil || len(s.blocks) == 0 {
		return
	}
	if s.seq > 0 {
		// The same run and seq with other content is not a duplicate: a
		// file reopened after logrotate moved it begins with the same header.
		k := s.run + "\x00" + strconv.Itoa(s.seq) + "\x00" + strconv.FormatUint(s.sum, 16)
		if first, dup := p.r.runSeq[k]; dup {
			p.r.warnings = append(p.r.warnings, Warning{Kind: WarnDuplicate, File: s.file, Line: s.startLn,
				Reason: "same run " + s.run + ", seq " + strconv.Itoa(s.seq) + " and content as " + first + ": skipped, not counted twice"})
			return
		}
		p.r.runSeq[k] = s.file
	}
	if s.nameMiss {
		p.r.warnings = append(p.r.warnings, Warning{Kind: WarnNameTime, File: s.file,
			Reason: "name does not match the name-time pattern " + strconv.Quote(p.r.opts.NameTime) + ": refresh times unknown"})
	}
	if _, cumulative := Unit(s.view); s.auto || cumulative && !s.header {
		p.r.checkView(s)
	}
	p.r.segs = append(p.r.segs, s)
}

// line applies one parsed line; an error means the line is out of place.
func (p *parser) line(ln Line, lineNo int) error {
	s := p.seg
	switch ln.Kind {
	case KindHeader:
		if s.hasBlock || s.header {
			p.newSegment(&ln.Header, lineNo)
		} else {
			// Only start-up lines so far: the header applies to them.
			p.seg = nil
			p.newSegment(&ln.Header, s.startLn)
		}
	case KindStartup:
		if s.hasBlock {
			// A new run's start-up lines (logs concatenated).
			p.newSegment(nil, lineNo)
		}
		p.seg.inBlock = false
	case KindRefreshing:
		s.blocks = append(s.blocks, len(s.entries))
		s.inBlock, s.hasBlock = true, true
	case KindProcess:
		if !s.inBlock {
			return nethogs.Malformed("process row outside a refresh block (no Refreshing: line before it)")
		}
		pr := ln.Proc
		k := procKey{pr.Name, pr.PID, pr.UID}
		idx, ok := p.r.keyIndex[k]
		if !ok {
			idx = int32(len(p.r.keys))
			p.r.keys = append(p.r.keys, k)
			p.r.keyIndex[k] = idx
		}
		s.entries = append(s.entries, entry{key: idx, sent: pr.Sent, recv: pr.Recv})
	}
	return nil
}

// checkView checks a header-less segment's view mode against its numbers.
// Read as KB/s (assumed, ViewAuto), it warns when the numbers look
// cumulative: no process's number ever decreases from one refresh to the
// next, and some process's number grows in at least 3 refreshes. Read in a
// cumulative mode (given), it warns when numbers decrease in 2 or more
// refreshes, which running totals do not do.
func (r *Report) checkView(s *segment) {
	type last struct {
		sent, recv float64
		grows      int
	}
	seen := make(map[int32]*last)
	maxGrows, drops := 0, 0
	for bi := range s.blocks {
		for _, e := range s.block(bi) {
			l := seen[e.key]
			if l == nil {
				seen[e.key] = &last{sent: e.sent, recv: e.recv}
				continue
			}
			if e.sent < l.sent || e.recv < l.recv {
				drops++
			} else if e.sent > l.sent || e.recv > l.recv {
				l.grows++
				maxGrows = max(maxGrows, l.grows)
			}
			l.sent, l.recv = e.sent, e.recv
		}
	}
	line := s.startLn
	if line == 1 {
		line = 0 // the whole input
	}
	n := strconv.Itoa(len(s.blocks))
	switch {
	case s.auto && drops == 0 && maxGrows >= 3:
		r.warnings = append(r.warnings, Warning{Kind: WarnViewMode, File: s.file, Line: line,
			Reason: "numbers only grow over " + n +
				" refreshes, as in a cumulative view mode (-v 1, 2 or 3); read as -v 0 (KB/s): pass -v to choose"})
	case !s.auto && drops >= 2:
		r.warnings = append(r.warnings, Warning{Kind: WarnViewMode, File: s.file, Line: line,
			Reason: "numbers decrease " + strconv.Itoa(drops) + " times in " + n + " refreshes, which running totals do not: " +
				"read as -v " + strconv.Itoa(s.view) + " (each decrease taken as a restarted counter); is it a rate view mode (-v 0, 4 or 5)?"})
	}
}

// block returns the entries of refresh block bi.
func (s *segment) block(bi int) []entry {
	end := len(s.entries)
	if bi+1 < len(s.blocks) {
		end = s.blocks[bi+1]
	}
	return s.entries[s.blocks[bi]:end]
}

const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

// fnv1a adds b to an FNV-1a hash.
func fnv1a(h uint64, b []byte) uint64 {
	for _, c := range b {
		h ^= uint64(c)
		h *= fnvPrime
	}
	return h
}
