package report

import (
	"bytes"
	"encoding/binary"
	"hash/maphash"
	"io"
	"runtime"
	"runtime/debug"
	"strconv"
	"sync"
	"sync/atomic"
)

// jsonChunk is a stretch of whole lines of a JSON log, read into a buffer
// of its own so that workers can count chunks at the same time.
type jsonChunk struct {
	buf     []byte // whole lines; at the end of the input the last may lack its newline
	tooLong bool   // buf is empty and stands for one line longer than maxJSONLine
	err     error  // why the input ended after buf, when not at its end
	off     int    // where buf starts in a mapped file
	// What the worker found.
	lines int      // lines in buf
	n     int      // refreshes read
	first string   // the first one's timestamp, as written
	sums  []uint64 // each line's hash, to spot a log given twice
	bad   []badLine
	nbad  int // malformed lines, bad holding the first MaxWarnings
	done  chan struct{}
}

// badLine is a malformed line of a chunk, numbered from 1 in it.
type badLine struct {
	line   int
	reason string
}

// jsonChunkSize is the size of a chunk's buffer (a line longer grows it):
// a few of a busy host's refreshes, small enough to be counted while
// still in the cache it was read into.
const (
	jsonChunkSize  = 1 << 20
	jsonFirstChunk = 64 << 10
)

// addJSON reads a JSON log: one goroutine reads chunks of lines, a worker
// a core counts them into tallies of its own, and the caller takes the
// chunks back in order (line numbers, warnings, the log's hash), then
// merges the workers' tallies into the report's unless the log was given
// before. At most 2 chunks a worker are read ahead.
func (r *Report) addJSON(name string, rd io.Reader, compressed bool) error {
	nbuf := 2 * jsonWorkers()
	// The chunks of the last JSON log are taken up again. The workers are
	// not: what they keep of a log (their numbering, and the memory of
	// their tallies for all the groups they saw) outweighs the garbage
	// they leave.
	for len(r.jsonChunks) < nbuf {
		r.jsonChunks = append(r.jsonChunks, &jsonChunk{done: make(chan struct{}, 1)})
	}
	_, err := r.countJSON(name, compressed, false, r.jsonChunks[:nbuf], nil, func(free <-chan *jsonChunk, work, order chan<- *jsonChunk) {
		splitJSON(rd, free, work, order)
	})
	return err
}

// jsonWorkers is the number of workers counting a JSON log: one a core.
func jsonWorkers() int { return max(1, runtime.GOMAXPROCS(0)) }

// countJSON counts the chunks that split hands out, taken from chunks, and
// gives each back to done (if not nil) once counted. When the chunks are
// of a mapped file (mapped), a fault reading them (the file truncated
// under it, see addMapped) ends the count: nothing of the input is kept,
// not even its warnings, and faulted is true.
func (r *Report) countJSON(name string, compressed, mapped bool, chunks []*jsonChunk, done func(*jsonChunk),
	split func(free <-chan *jsonChunk, work, order chan<- *jsonChunk)) (faulted bool, err error) {
	nw := jsonWorkers()
	free := make(chan *jsonChunk, len(chunks))
	work := make(chan *jsonChunk, len(chunks))
	order := make(chan *jsonChunk, len(chunks))
	for _, c := range chunks {
		free <- c
	}
	var fault atomic.Bool
	go func() {
		debug.SetPanicOnFault(mapped)
		defer onFault(&fault, nil)
		split(free, work, order)
	}()
	workers := make([]*jsonWorker, nw)
	var wg sync.WaitGroup
	for i := range workers {
		w := newJSONWorker(&r.opts)
		workers[i] = w
		wg.Go(func() {
			debug.SetPanicOnFault(mapped)
			var c *jsonChunk
			defer onFault(&fault, func() {
				c.done <- struct{}{}
				for c := range work {
					c.done <- struct{}{}
				}
			})
			for c = range work {
				if !fault.Load() {
					w.chunk(c, r.seed, r.opts.MaxWarnings)
				}
				c.done <- struct{}{}
			}
		})
	}
	nwarn := len(r.warnings)
	sum := r.newSum()
	var first string
	var b8 [8]byte
	n, lines, malformed := 0, 0, 0
	var rerr error
	for c := range order {
		<-c.done
		for _, h := range c.sums {
			binary.LittleEndian.PutUint64(b8[:], h)
			sum.Write(b8[:])
		}
		for _, b := range c.bad {
			if malformed++; malformed <= r.opts.MaxWarnings {
				r.warnings = append(r.warnings, Warning{Kind: WarnMalformed, File: name, Line: lines + b.line, Reason: b.reason, Count: 1})
			}
		}
		malformed += c.nbad - len(c.bad)
		if n == 0 && c.n > 0 {
			first = c.first
		}
		n += c.n
		lines += c.lines
		if c.err != nil {
			rerr = c.err
		}
		if done != nil {
			done(c)
		}
		c.reset()
		free <- c
	}
	wg.Wait()
	if fault.Load() {
		r.warnings = r.warnings[:nwarn]
		return true, nil
	}
	if rerr == nil {
		if more := malformed - r.opts.MaxWarnings; more > 0 {
			r.warnings = append(r.warnings, Warning{Kind: WarnMoreMalformed, File: name,
				Reason: strconv.Itoa(more) + " more malformed lines skipped", Count: more})
		}
	}
	if n > 0 {
		k := "json\x00" + first + "\x00" + strconv.FormatUint(sum.Sum64(), 16)
		if file, dup := r.runSeq[k]; dup {
			r.warnings = append(r.warnings, Warning{Kind: WarnDuplicate, File: name,
				Reason: "same refreshes as " + file + ": skipped, not counted twice"})
		} else {
			r.runSeq[k] = name
			for _, w := range workers {
				r.mergeWorker(w)
			}
		}
	}
	if rerr != nil {
		return false, readError(name, compressed, lines, rerr)
	}
	return false, nil
}

// onFault, deferred, recovers from a fault reading mapped memory (the
// goroutine having asked for a panic on faults): it sets fault and calls
// then (if not nil). Any other panic goes on.
func onFault(fault *atomic.Bool, then func()) {
	e := recover()
	if e == nil {
		return
	}
	if re, ok := e.(runtime.Error); !ok || !isFault(re) {
		panic(e)
	}
	fault.Store(true)
	if then != nil {
		then()
	}
}

// isFault reports whether e is the runtime's panic on a memory fault.
func isFault(e runtime.Error) bool {
	_, ok := e.(interface{ Addr() uintptr })
	return ok
}

// mergeWorker adds what a worker counted to the report's totals, its
// processes and groups renumbered as the report's.
func (r *Report) mergeWorker(w *jsonWorker) {
	groups := make([]int32, len(w.groups))
	for i, gk := range w.groups {
		groups[i] = r.groupOf(gk)
	}
	procs := make([]int32, len(w.procs))
	for i, pk := range w.procs {
		procs[i] = r.procOf(pk.name, pk.pid, pk.uid)
	}
	r.total.mergeMapped(w.tally.agg, groups, procs)
}

func (c *jsonChunk) reset() {
	c.tooLong, c.err, c.lines, c.n, c.first, c.sums, c.bad, c.nbad = false, nil, 0, 0, "", c.sums[:0], c.bad[:0], 0
}

// chunk counts the lines of c.
func (w *jsonWorker) chunk(c *jsonChunk, seed maphash.Seed, maxBad int) {
	bad := func(reason string) {
		if c.nbad++; len(c.bad) < maxBad {
			c.bad = append(c.bad, badLine{c.lines, reason})
		}
	}
	if c.tooLong {
		c.lines = 1
		c.sums = append(c.sums, lineSum(seed, nil, nil))
		bad("line longer than " + strconv.Itoa(maxJSONLine) + " bytes")
		return
	}
	for data := c.buf; len(data) > 0; {
		line := data
		if k := bytes.IndexByte(data, '\n'); k >= 0 {
			line, data = data[:k], data[k+1:]
		} else {
			data = nil
		}
		c.lines++
		if len(line) >= maxJSONLine { // only in a mapped file: splitJSON cuts them
			c.sums = append(c.sums, lineSum(seed, nil, nil))
			bad("line longer than " + strconv.Itoa(maxJSONLine) + " bytes")
			continue
		}
		if len(bytes.TrimSpace(line)) == 0 {
			c.sums = append(c.sums, lineSum(seed, line, nil))
			continue
		}
		if err := w.line(line); err != nil {
			c.sums = append(c.sums, lineSum(seed, line, nil))
			bad(err.Error())
			continue
		}
		c.sums = append(c.sums, lineSum(seed, line, &w.p))
		if c.n == 0 {
			c.first = string(w.p.tsb)
		}
		c.n++
	}
}

// splitJSON reads rd into chunks of whole lines taken from free, and
// hands each to the workers (work) and to the caller (order), in order.
// A line longer than maxJSONLine is skipped, a tooLong chunk of its own.
func splitJSON(rd io.Reader, free <-chan *jsonChunk, work, order chan<- *jsonChunk) {
	defer close(order)
	defer close(work)
	var carry []byte // the start of a line, left at the end of the last chunk's buffer
	send := func(c *jsonChunk) {
		order <- c
		work <- c
	}
	// The first chunk is small: most inputs of tests and of short runs
	// end in it, and a chunk's buffer is cleared when made.
	size := jsonFirstChunk
	for {
		c := <-free
		buf := c.buf[:cap(c.buf)]
		if len(buf) < size || len(buf) > 4*jsonChunkSize || len(buf) < 2*len(carry) {
			buf = make([]byte, max(size, 2*len(carry)))
		}
		size = jsonChunkSize
		n := copy(buf, carry) // carry may be in buf: copy moves it
		carry = nil
		var err error
		for {
			var m int
			m, err = fill(rd, buf[n:])
			from := n // carry has no newline
			n += m
			if err != nil {
				break
			}
			if k := lastNewline(buf[from:n]); k >= 0 {
				carry = buf[from+k+1 : n]
				n = from + k + 1
				break
			}
			if n < maxJSONLine {
				// One line longer than the buffer: a larger one.
				nb := make([]byte, min(2*len(buf), maxJSONLine))
				copy(nb, buf[:n])
				buf = nb
				continue
			}
			// Too long: skipped up to its newline.
			c.buf, c.tooLong = buf[:0], true
			for err == nil {
				m, err = fill(rd, buf)
				if k := bytes.IndexByte(buf[:m], '\n'); k >= 0 {
					carry = buf[k+1 : m]
					err = nil
					break
				}
			}
			if err == io.EOF {
				err = nil
			}
			c.err = err
			send(c)
			if err != nil || carry == nil {
				return
			}
			c = <-free // carry is in the buffer just sent: the next copies it first
			buf = make([]byte, max(jsonChunkSize, 2*len(carry)))
			n = copy(buf, carry)
			carry = nil
		}
		c.buf = buf[:n]
		if err != nil {
			if err != io.EOF {
				c.err = err
			}
			send(c)
			return
		}
		send(c)
	}
}

// lastNewline returns the index of the last '\n' in b, or -1: a line is
// hundreds of kilobytes, so IndexByte's vector search from the front beats
// LastIndexByte's byte by byte from the back.
func lastNewline(b []byte) int {
	last := -1
	for i := 0; ; {
		k := bytes.IndexByte(b[i:], '\n')
		if k < 0 {
			return last
		}
		last = i + k
		i = last + 1
	}
}

// fill reads into b until it is full or rd fails (io.EOF at its end): unlike
// io.ReadFull it tells a truncated gzip stream (io.ErrUnexpectedEOF) from
// the end of the input.
func fill(rd io.Reader, b []byte) (int, error) {
	n := 0
	for n < len(b) {
		m, err := rd.Read(b[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// lineSumWhole is the longest line hashed whole by lineSum.
const lineSumWhole = 8 << 10

// lineSum is what the check for a log given twice keeps of a line: a hash
// of the whole line when it is short; of a longer one (a busy host's
// refresh is hundreds of kilobytes, and hashing all of it took a tenth of
// the time) its length, its first and last 4 KB, and what its rows count
// (p, when the line was read as a refresh: each row's pid and bytes). Two
// different logs with the same first refresh time (in nanoseconds) and
// lines alike in all that are not to be met by chance.
func lineSum(seed maphash.Seed, line []byte, p *lineParser) uint64 {
	if len(line) <= lineSumWhole {
		return maphash.Bytes(seed, line)
	}
	var h maphash.Hash
	h.SetSeed(seed)
	var b [24]byte
	binary.LittleEndian.PutUint64(b[:], uint64(len(line)))
	h.Write(b[:8])
	h.Write(line[:lineSumWhole/2])
	h.Write(line[len(line)-lineSumWhole/2:])
	if p != nil {
		var pids, sent, recv uint64
		for i := range p.rows {
			r := &p.rows[i]
			pids = pids*31 + r.pid.v
			sent, recv = sent*31+r.sent.v, recv*31+r.recv.v
		}
		for i := range p.conns {
			c := &p.conns[i]
			sent, recv = sent*31+c.sent.v, recv*31+c.recv.v
		}
		binary.LittleEndian.PutUint64(b[:], pids)
		binary.LittleEndian.PutUint64(b[8:], sent)
		binary.LittleEndian.PutUint64(b[16:], recv)
		h.Write(b[:])
	}
	return h.Sum64()
}
