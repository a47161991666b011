package report

import "unsafe"

// The walking of a refresh line's objects and arrays: a key and its
// colon, the comma or bracket after a value, and the loop over an
// object's members or an array's elements (walk, more, field) that the
// readers of the line, its rows and its connections share.

// key reads an object's key and its colon, and the white space after
// them; it returns the key's text (valid until the next key) and the first
// byte of the value.
func (p *lineParser) key() (string, byte, bool) {
	s := &p.s
	if s.ws() != '"' {
		return "", 0, s.fail("expected a key")
	}
	start, end, esc, ok := s.str()
	if !ok {
		return "", 0, false
	}
	if s.ws() != ':' {
		return "", 0, s.fail("expected ':'")
	}
	s.i++
	c := s.ws()
	if c == 0 {
		return "", 0, s.fail("unexpected end")
	}
	k := s.b[start:end]
	if esc {
		p.keyb = decodeString(s.b[start-1:end+1], p.keyb)
		k = p.keyb
	}
	return unsafe.String(unsafe.SliceData(k), len(k)), c, true
}

// next passes over the comma or the closing bracket after a value: more
// says a comma came.
func (p *lineParser) next(closing byte) (more, ok bool) {
	s := &p.s
	switch s.ws() {
	case ',':
		s.i++
		return true, true
	case closing:
		s.i++
		return false, true
	}
	return false, s.fail("expected ',' or '" + string(closing) + "'")
}

// open passes over the '{' or '[' at s.i: more says the object or array
// has a key or an element (at the next byte that is not white space).
func (p *lineParser) open() (more, ok bool) {
	s := &p.s
	closing := s.b[s.i] + 2 // '}' or ']'
	s.i++
	switch s.ws() {
	case closing:
		s.i++
		return false, true
	case 0:
		return false, s.fail("unexpected end")
	}
	return true, true
}

// walk goes through the keys of the object, or the elements of the array,
// at s.i: for w := p.walk(); p.more(&w); { read one into w.ok }; then w.ok
// says whether all of it was read.
type walk struct {
	closing byte // '}' or ']'
	n       int  // the members so far
	ok      bool
	done    bool
}

func (p *lineParser) walk() walk {
	closing := p.s.b[p.s.i] + 2
	more, ok := p.open()
	return walk{closing: closing, ok: ok, done: !more}
}

// more passes over the comma before the next member, if there is one.
func (p *lineParser) more(w *walk) bool {
	if !w.ok || w.done {
		return false
	}
	if w.n > 0 {
		more, ok := p.next(w.closing)
		switch {
		case !ok:
			w.ok = false
			return false
		case !more:
			w.done = true
			return false
		case p.s.ws() == 0:
			w.ok = p.s.fail("unexpected end")
			return false
		}
	}
	w.n++
	return true
}

// field moves to the object's next key: its text and the first byte of
// its value; false at the end of the object or on an error (then w.ok is
// false).
func (p *lineParser) field(w *walk) (k string, c byte, more bool) {
	if !p.more(w) {
		return "", 0, false
	}
	if k, c, w.ok = p.key(); !w.ok {
		return "", 0, false
	}
	return k, c, true
}
