package report

// fastRow reads row n written as cmd/gohogs/json.go writes it: its keys
// in that order, no white space. It is the common case, read by matching
// the keys as they come instead of reading and looking up each. On any
// other spelling it reads nothing and returns false, and row reads the row;
// what it does read it reads as row would, with the same scanner.
func (p *lineParser) fastRow(n int) bool {
	s := &p.s
	start, nconns := s.i, len(p.conns)
	r := lineRow{connStart: int32(nconns)}
	if !p.fastRowFields(&r) {
		s.i, s.err, p.conns = start, "", p.conns[:nconns]
		return false
	}
	p.endRow(&r, n)
	return true
}

func (p *lineParser) fastRowFields(r *lineRow) bool {
	s := &p.s
	if !s.lit(`{"name":`) || !p.fastStr(&r.name) || !s.lit(`,"args":`) || !p.fastStr(nil) || !s.lit(`,"cmdline":[`) {
		return false
	}
	if !s.lit(`]`) {
		for {
			if !p.fastStr(nil) {
				return false
			}
			if !s.lit(`,`) {
				break
			}
		}
		if !s.lit(`]`) {
			return false
		}
	}
	if !s.lit(`,"pid":`) || !p.fastNum(&r.pid) || !s.lit(`,"start_time":`) || !p.fastNum(nil) ||
		!s.lit(`,"uid":`) || !p.fastNum(&r.uid) || !s.lit(`,"kind":`) || !p.fastStr(nil) {
		return false
	}
	if s.lit(`,"cgroup":`) && !p.fastStr(nil) {
		return false
	}
	if s.lit(`,"unit":`) && !p.fastStr(&r.unit) {
		return false
	}
	if s.lit(`,"container":{"runtime":`) {
		r.container = fieldOK
		if !p.fastStr(&r.runtime) || !s.lit(`,"id":`) || !p.fastStr(&r.cid) || !s.lit(`,"name":`) || !p.fastStr(&r.cname) || !s.lit(`}`) {
			return false
		}
	}
	if !s.lit(`,"sent":`) || !p.fastNum(&r.sent) || !s.lit(`,"recv":`) || !p.fastNum(&r.recv) ||
		!s.lit(`,"total_sent":`) || !p.fastNum(nil) || !s.lit(`,"total_recv":`) || !p.fastNum(nil) || !s.lit(`,"connections":[`) {
		return false
	}
	r.conns = fieldOK
	if s.lit(`]}`) {
		return true
	}
	for {
		var c lineConn
		if !s.lit(`{"proto":`) || !p.fastStr(nil) || !s.lit(`,"local":`) || !p.fastStr(nil) || !s.lit(`,"remote":`) || !p.fastStr(&c.remote) {
			return false
		}
		if s.lit(`,"remote_name":`) && !p.fastStr(&c.remoteName) {
			return false
		}
		if !s.lit(`,"sent":`) || !p.fastNum(&c.sent) || !s.lit(`,"recv":`) || !p.fastNum(&c.recv) || !s.lit(`}`) {
			return false
		}
		p.conns = append(p.conns, c)
		if !s.lit(`,`) {
			return s.lit(`]}`)
		}
	}
}

// fastStr reads the string at s.i into f (nil: passes over it).
func (p *lineParser) fastStr(f *strField) bool {
	s := &p.s
	if s.i >= len(s.b) || s.b[s.i] != '"' {
		return false
	}
	start, end, esc, ok := s.str()
	if ok && f != nil {
		*f = strField{state: fieldOK, esc: esc, start: int32(start), end: int32(end)}
	}
	return ok
}

// fastNum reads the whole number at s.i into f (nil: passes over it).
func (p *lineParser) fastNum(f *numField) bool {
	s := &p.s
	start := s.i
	if start >= len(s.b) || s.b[start]-'0' >= 10 {
		return false
	}
	v, whole, ok := s.number()
	if !ok || !whole {
		return false
	}
	if f != nil {
		*f = numField{state: fieldOK, v: v, start: int32(start), end: int32(s.i)}
	}
	return true
}
