package report

import (
	"bufio"
	"compress/gzip"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"io/fs"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gohogs/gohogs/trace/nethogs"
)

// procKey identifies one process across refreshes and inputs.
type procKey struct {
	name string
	pid  int
	uid  uint32
}

// stretch is what is kept of an input stretch once read: enough for the
// gap warnings.
type stretch struct {
	run    string
	seq    int
	header bool
}

// Report accumulates logs and computes per-group totals. The zero value is
// not usable; call New.
type Report struct {
	opts Options
	ids
	warnings   []Warning
	runSeq     map[string]string // "run\x00seq\x00sum" -> file that had it
	anon       int               // counter for runs without a Run identifier
	nseg       int               // counter of trace segments
	runs       map[string]*runState
	kept       []stretch
	total      *agg   // the stretches read and ready
	refresh    uint64 // refreshes counted, for the tallies' stamps
	view       viewCheck
	cache      *agg // total with the pending stretches, until the next Add
	seed       maphash.Seed
	idIndex    map[string]int32 // a trace row's NAME/PID/UID -> its proc
	jsonChunks []*jsonChunk     // kept from one JSON log to the next
	afterMap   func()           // for tests: called once a file is mapped
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
	if opts.Location == nil {
		opts.Location = time.Local
	}
	return &Report{opts: opts, ids: newIDs(opts.By),
		runSeq: make(map[string]string), runs: make(map[string]*runState), total: newAgg(),
		seed: maphash.MakeSeed(), idIndex: make(map[string]int32)}
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
	for _, s := range r.kept {
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
// any input was left out at all (malformed lines, duplicate files, or
// refreshes without a time when the options ask about time).
func (r *Report) Skipped() (lines int, any bool) {
	for _, w := range r.warnings {
		lines += w.SkippedLines()
		any = any || w.Skipped()
	}
	return lines, any
}

// AddFile reads the log at path (gzip-compressed or not).
func (r *Report) AddFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("report: %w", err)
	}
	defer f.Close()
	if done, err := r.addMapped(path, f); done {
		return err
	}
	return r.Add(path, f)
}

// maxLine is the longest trace line read; longer lines are malformed.
// maxJSONLine is the longest JSON line: one refresh of a busy host, with
// every connection, is far longer than a trace line.
const (
	maxLine     = 64 << 10
	maxJSONLine = 64 << 20
)

// Add reads one log from rd, a trace log (gohogs's or nethogs's) or a JSON
// log (gohogs --json), told apart by its first character ('{' starts a JSON
// log); name is used in warnings. A log compressed with gzip (logrotate's
// compress) is read transparently. Add returns an error only when rd cannot
// be read; malformed lines become warnings. An input that fails part way
// keeps what was read before.
func (r *Report) Add(name string, rd io.Reader) error {
	r.cache = nil
	br := bufio.NewReaderSize(rd, maxLine)
	compressed := false
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		compressed = true
		zr, err := gzip.NewReader(br)
		if err != nil {
			return fmt.Errorf("report: %s: gzip-compressed, but its gzip header is truncated or corrupt: %w", name, err)
		}
		defer zr.Close()
		inf := newInflater(zr)
		defer inf.Close()
		br = bufio.NewReaderSize(inf, maxLine)
	}
	if isJSON(br) {
		return r.addJSON(name, br, compressed)
	}
	in := r.newTraceInput(name)
	lr := lineReader{br: br, max: maxLine}
	malformedN := 0
	for {
		raw, tooLong, err := lr.next()
		if len(raw) == 0 && !tooLong && err == io.EOF {
			break
		}
		perr := in.line(raw, lr.n, tooLong)
		if tooLong {
			perr = nethogs.Malformed("line longer than " + strconv.Itoa(lr.max) + " bytes")
		}
		if perr != nil {
			malformedN++
			if malformedN <= r.opts.MaxWarnings {
				r.warnings = append(r.warnings, Warning{Kind: WarnMalformed, File: name, Line: lr.n, Reason: perr.Error(), Count: 1})
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			in.finish()
			return readError(name, compressed, lr.n, err)
		}
	}
	if n := malformedN - r.opts.MaxWarnings; n > 0 {
		r.warnings = append(r.warnings, Warning{Kind: WarnMoreMalformed, File: name,
			Reason: strconv.Itoa(n) + " more malformed lines skipped", Count: n})
	}
	in.finish()
	return nil
}

// readError is the error of an input that could not be read after line.
func readError(name string, compressed bool, line int, err error) error {
	if _, ok := errors.AsType[*fs.PathError](err); ok {
		return fmt.Errorf("report: %w", err) // names the file already
	}
	if compressed {
		return fmt.Errorf("report: read %s: its gzip data is truncated or corrupt after line %d (the lines before are counted): %w", name, line, err)
	}
	return fmt.Errorf("report: read %s: %w", name, err)
}

// isJSON reports whether the input's first character that is not white
// space is '{'.
func isJSON(br *bufio.Reader) bool {
	for n := 64; n <= maxLine; n *= 4 {
		b, err := br.Peek(n)
		for _, c := range b {
			switch c {
			case ' ', '\t', '\r', '\n':
				continue
			}
			return c == '{'
		}
		if err != nil {
			return false
		}
	}
	return false
}

// lineReader reads lines of at most max bytes from br without copying
// them when they fit its buffer; a longer line is skipped and reported as
// too long. A line is valid until the next call.
type lineReader struct {
	br  *bufio.Reader
	max int
	n   int    // line number of the last line
	buf []byte // a line longer than br's buffer
}

func (l *lineReader) next() (line []byte, tooLong bool, err error) {
	raw, err := l.br.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) {
		l.buf = append(l.buf[:0], raw...)
		for errors.Is(err, bufio.ErrBufferFull) {
			raw, err = l.br.ReadSlice('\n')
			if len(l.buf)+len(raw) > l.max {
				tooLong = true
			}
			if !tooLong {
				l.buf = append(l.buf, raw...)
			}
		}
		raw = l.buf
		if tooLong {
			raw = nil
			l.buf = nil
		}
	}
	if len(raw) == 0 && !tooLong && err == io.EOF {
		return nil, false, err
	}
	l.n++
	if len(raw) > 0 && raw[len(raw)-1] == '\n' {
		raw = raw[:len(raw)-1]
	}
	return raw, tooLong, err
}

// newSum returns the hash of an input stretch's lines, to spot a file
// given twice: maphash (AES where the CPU has it) reads gigabytes of log a
// second, so hashing every line costs little.
func (r *Report) newSum() maphash.Hash {
	var h maphash.Hash
	h.SetSeed(r.seed)
	return h
}

// hashLine adds a line and its newline to h.
func hashLine(h *maphash.Hash, raw []byte) {
	h.Write(raw)
	h.WriteByte('\n')
}
