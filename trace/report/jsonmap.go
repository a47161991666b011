package report

import (
	"bytes"
	"os"
)

// jsonMapMin is the size from which a JSON log file is mapped rather than
// read.
const jsonMapMin = 8 << 20

// addMapped reads the JSON log file f in place, mapped into memory: a day
// of a busy host's JSON logs is tens of gigabytes, and copying them from
// the page cache (read) was a fifth of the time. It reports whether it
// did; it does not when f is small, not a regular file, compressed, not
// a JSON log, or cannot be mapped, and then has read nothing (f's offset
// is where it was). Pages are dropped from the mapping as their chunks
// are counted, so that they do not add up in the process's memory. A file
// truncated while mapped makes reading it fault: the faults are caught,
// what was counted of it is dropped, and addMapped says it did not read
// it, so that the caller reads what is left as any other input.
func (r *Report) addMapped(name string, f *os.File) (bool, error) {
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() || st.Size() < jsonMapMin || int64(int(st.Size())) != st.Size() {
		return false, nil
	}
	head := make([]byte, maxLine)
	n, _ := f.ReadAt(head, 0)
	head = head[:n]
	if len(head) >= 2 && head[0] == 0x1f && head[1] == 0x8b || !isJSONText(head) {
		return false, nil
	}
	data, err := mapFile(f, int(st.Size()))
	if err != nil {
		return false, nil
	}
	defer unmapFile(data)
	if r.afterMap != nil {
		r.afterMap()
	}
	r.cache = nil
	nbuf := 2 * jsonWorkers()
	chunks := make([]*jsonChunk, nbuf)
	for i := range chunks {
		chunks[i] = &jsonChunk{done: make(chan struct{}, 1)}
	}
	faulted, err := r.countJSON(name, false, true, chunks, func(c *jsonChunk) { dropPages(data, c.off, c.off+len(c.buf)) },
		func(free <-chan *jsonChunk, work, order chan<- *jsonChunk) { splitMapped(data, free, work, order) })
	return !faulted, err
}

// isJSONText reports whether the first character of head that is not
// white space is '{' (as isJSON does on a reader).
func isJSONText(head []byte) bool {
	i := 0
	for i < len(head) && (head[i] == ' ' || head[i] == '\t' || head[i] == '\r' || head[i] == '\n') {
		i++
	}
	return i < len(head) && head[i] == '{'
}

// splitMapped hands out data in chunks of whole lines, in order, each
// ending at the first newline after jsonChunkSize bytes.
func splitMapped(data []byte, free <-chan *jsonChunk, work, order chan<- *jsonChunk) {
	defer close(order)
	defer close(work)
	for pos := 0; pos < len(data); {
		end := len(data)
		if end-pos > jsonChunkSize {
			if k := bytes.IndexByte(data[pos+jsonChunkSize:], '\n'); k >= 0 {
				end = pos + jsonChunkSize + k + 1
			}
		}
		c := <-free
		populate(data, pos, end)
		c.buf, c.off = data[pos:end:end], pos
		order <- c
		work <- c
		pos = end
	}
}
