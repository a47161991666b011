package dnswatch

import (
	"encoding/binary"
	"net/netip"
	"time"
)

// TCP streams joined at once, and how long one may wait for its next
// segment. A resolver that asks over TCP (an answer too big for UDP, or
// DNS over TCP throughout) has a few streams open at a time; more push
// out the one that waited longest.
const (
	maxStreams = 16
	streamIdle = 10 * time.Second
	maxMessage = 2 + 65535 // a length prefix and the longest message
)

// stream is a TCP stream from a DNS server whose last segment ended inside
// a message: the bytes of that message so far, and the sequence number
// the next segment must start at.
type stream struct {
	server, client netip.AddrPort
	next           uint32
	buf            []byte
	lost           bool // a segment is missing: skip the rest of the stream
	seen           time.Time
}

// streams are the TCP streams being joined. A segment of a stream that is
// not among them starts at a message boundary (it is the first with data,
// or the one before ended with a whole message).
type streams struct {
	s []*stream
}

// segment takes a segment's payload from server to client, starting at
// sequence number seq, and calls emit with each whole message it
// completes (without its length prefix; valid during the call). end says
// the stream ends with it (FIN or RST).
func (ss *streams) segment(server, client netip.AddrPort, seq uint32, payload []byte, end bool, now time.Time,
	stats *counters, emit func(msg []byte)) {
	i := ss.find(server, client)
	var st *stream
	if i >= 0 {
		st = ss.s[i]
		st.seen = now
	}
	switch {
	case len(payload) == 0:
	case st == nil:
		if rest := messages(payload, emit); len(rest) > 0 {
			st = ss.add(server, client, now, stats)
			st.buf = append(st.buf[:0], rest...)
			st.next = seq + uint32(len(payload))
		}
	case st.lost:
		stats.tcpSkipped.Add(1)
	case seq == st.next:
		st.next += uint32(len(payload))
		st.buf = append(st.buf, payload...)
		rest := messages(st.buf, emit)
		if len(rest) == 0 {
			ss.remove(st)
			st = nil
			break
		}
		st.buf = st.buf[:copy(st.buf, rest)]
	case int32(seq+uint32(len(payload))-st.next) <= 0:
		// All of it was seen before: a retransmission.
	default:
		// A gap (a segment not captured) or an overlap: where the
		// messages begin is lost.
		st.lost, st.buf = true, nil
		stats.tcpSkipped.Add(1)
	}
	if end && st != nil {
		ss.remove(st)
	}
}

// messages calls emit with each whole length-prefixed message at the start
// of b, and returns what is left: the beginning of a message. A length
// beyond what a message may be cannot happen (it is 16 bits).
func messages(b []byte, emit func(msg []byte)) []byte {
	for len(b) >= 2 {
		n := 2 + int(binary.BigEndian.Uint16(b))
		if len(b) < n {
			break
		}
		emit(b[2:n])
		b = b[n:]
	}
	return b
}

func (ss *streams) find(server, client netip.AddrPort) int {
	for i, st := range ss.s {
		if st.server == server && st.client == client {
			return i
		}
	}
	return -1
}

// add starts joining a stream, forgetting idle ones, and the longest
// waiting one if there are maxStreams already (counted in tcpSkipped: the
// rest of its message is lost).
func (ss *streams) add(server, client netip.AddrPort, now time.Time, stats *counters) *stream {
	live := ss.s[:0]
	for _, st := range ss.s {
		if now.Sub(st.seen) < streamIdle {
			live = append(live, st)
		}
	}
	clear(ss.s[len(live):])
	ss.s = live
	if len(ss.s) == maxStreams {
		oldest := 0
		for i, st := range ss.s {
			if st.seen.Before(ss.s[oldest].seen) {
				oldest = i
			}
		}
		ss.remove(ss.s[oldest])
		stats.tcpSkipped.Add(1)
	}
	st := &stream{server: server, client: client, seen: now}
	ss.s = append(ss.s, st)
	return st
}

func (ss *streams) remove(st *stream) {
	for i, x := range ss.s {
		if x == st {
			last := len(ss.s) - 1
			ss.s[i], ss.s[last] = ss.s[last], nil
			ss.s = ss.s[:last]
			return
		}
	}
}
