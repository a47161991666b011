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
// both ends local once at each end (twice), some held for a later refresh.
type jsonAccounting struct {
	Captured uint64 `json:"captured"`
	Twice    uint64 `json:"twice"`
	Credited uint64 `json:"credited"`
	Held     uint64 `json:"held"`
	// Unaccounted are the bytes on no process row, by reason: no_socket,
	// no_process, forwarded, netns_unreachable, not_ip, not_accounted,
	// filtered (trace.Reason).
	Unaccounted map[string]uint64 `json:"unaccounted"`
}

func toJSONAccounting(a trace.Accounting) jsonAccounting {
	j := jsonAccounting{Captured: a.Captured, Twice: a.Twice, Credited: a.Credited, Held: a.Held,
		Unaccounted: make(map[string]uint64, trace.NumReasons)}
	for r, n := range a.Buckets {
		j.Unaccounted[trace.Reason(r).String()] = n
	}
	return j
}

// writeAccounting prints where bytes went, for -x: at each refresh the
// interval's ("gohogs: refresh N accounting ..."), at exit the whole
// run's ("gohogs: accounting ..."): captured, twice, credited and held
// bytes, then the unaccounted bytes by reason.
func writeAccounting(w io.Writer, what string, a trace.Accounting) {
	var b strings.Builder
	fmt.Fprintf(&b, "gohogs: %saccounting captured %d twice %d credited %d held %d unaccounted", what, a.Captured, a.Twice, a.Credited, a.Held)
	for r, n := range a.Buckets {
		fmt.Fprintf(&b, " %s %d", trace.Reason(r), n)
	}
	b.WriteByte('\n')
	io.WriteString(w, b.String())
}
