package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/gohogs/gohogs/trace"
)

// jsonAccounting is where a refresh's bytes went (trace.Accounting), as
// --json writes it: every byte captured in the interval is credited to a
// process row or counted in one of the unaccounted reasons, a packet with
// both ends local (or both in containers) once at each end (twice), a copy
// counted on another interface or a flow credited through its other end
// once (elsewhere), some held for a later refresh.
type jsonAccounting struct {
	Captured  uint64 `json:"captured"`
	Twice     uint64 `json:"twice"`
	Credited  uint64 `json:"credited"`
	Elsewhere uint64 `json:"elsewhere"`
	Held      uint64 `json:"held"`
	// Unaccounted are the bytes on no process row, by reason: no_socket,
	// no_process, forwarded, netns_unreachable, not_ip, not_accounted,
	// filtered, overflow (trace.Reason).
	Unaccounted map[string]uint64 `json:"unaccounted"`
}

func toJSONAccounting(a trace.Accounting) jsonAccounting {
	j := jsonAccounting{Captured: a.Captured, Twice: a.Twice, Credited: a.Credited, Elsewhere: a.Elsewhere, Held: a.Held,
		Unaccounted: make(map[string]uint64, trace.NumReasons)}
	for r, n := range a.Buckets {
		j.Unaccounted[trace.Reason(r).String()] = n
	}
	return j
}

// writeAccounting prints where bytes went, for -x: at each refresh the
// interval's ("gohogs: refresh N accounting ..."), at exit the whole
// run's ("gohogs: accounting ..."): captured, twice, credited, elsewhere
// and held bytes, then the unaccounted bytes by reason.
func writeAccounting(w io.Writer, what string, a trace.Accounting) {
	var b strings.Builder
	fmt.Fprintf(&b, "gohogs: %saccounting captured %d twice %d credited %d elsewhere %d held %d unaccounted",
		what, a.Captured, a.Twice, a.Credited, a.Elsewhere, a.Held)
	for r, n := range a.Buckets {
		fmt.Fprintf(&b, " %s %d", trace.Reason(r), n)
	}
	b.WriteByte('\n')
	io.WriteString(w, b.String())
}
