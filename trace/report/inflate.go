package report

import "io"

// inflater reads a decompressing reader (gzip) in a goroutine of its own, a
// few chunks ahead of the parser, so that on two cores decompressing and
// parsing a day of compressed logs overlap instead of taking turns.
type inflater struct {
	chunks chan []byte // filled chunks, in order; closed after the last
	free   chan []byte // chunks the reader is done with
	cur    []byte      // what is left of the chunk being read
	held   []byte      // that chunk, to give back
	err    error       // why the chunks ended; set before chunks is closed
	done   chan struct{}
	exited chan struct{}
}

const (
	inflateChunk  = 256 << 10
	inflateChunks = 4
)

func newInflater(r io.Reader) *inflater {
	f := &inflater{chunks: make(chan []byte, inflateChunks), free: make(chan []byte, inflateChunks),
		done: make(chan struct{}), exited: make(chan struct{})}
	for range inflateChunks {
		f.free <- make([]byte, inflateChunk)
	}
	go f.run(r)
	return f
}

func (f *inflater) run(r io.Reader) {
	defer close(f.exited)
	defer close(f.chunks)
	for {
		var buf []byte
		select {
		case buf = <-f.free:
		case <-f.done:
			return
		}
		n := 0
		var err error
		for n < len(buf) && err == nil {
			var m int
			m, err = r.Read(buf[n:])
			n += m
		}
		if n > 0 {
			select {
			case f.chunks <- buf[:n]:
			case <-f.done:
				return
			}
		}
		if err != nil {
			f.err = err
			return
		}
	}
}

// Read returns the decompressed bytes in order, then the reader's error
// (io.EOF at the end).
func (f *inflater) Read(p []byte) (int, error) {
	for len(f.cur) == 0 {
		if f.held != nil {
			f.free <- f.held[:cap(f.held)]
			f.held = nil
		}
		c, ok := <-f.chunks
		if !ok {
			return 0, f.err
		}
		f.cur, f.held = c, c
	}
	n := copy(p, f.cur)
	f.cur = f.cur[n:]
	return n, nil
}

// Close stops the goroutine and waits for it, so that the reader it reads
// can be closed.
func (f *inflater) Close() {
	close(f.done)
	<-f.exited
}
