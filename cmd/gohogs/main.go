// Command gohogs is a per-process network bandwidth monitor for Linux, a
// drop-in for nethogs: `gohogs -t eth0` prints nethogs's trace format with
// rates that are right, `gohogs` alone is nethogs's interactive view,
// --json and --listen export the same refreshes as JSON lines and
// Prometheus metrics, and `gohogs report FILE...` sums trace logs. Run
// `gohogs -h` for the flags.
//
// It is built on the gohogs library alone: every mode takes its refreshes
// on the library's Schedule. Trace mode and --json take every cut even
// after a pause, so that each block covers exactly one delay and a log
// reader's rate × delay is the bytes; the interactive view takes one
// refresh over a pause instead of a burst of redraws. Unlike the library,
// the command allows the host changes that short-lived processes and
// connections need (README, "What gohogs changes on the host").
package main

import (
	"os"
	"runtime"
	"runtime/debug"
)

func main() {
	// gohogs's work is many short steps that hand over to each other
	// (capture, lookups, tracepoint events): with one P they run in turn
	// on one thread instead of waking idle threads for each, which under
	// a storm of short connections costs more than the steps themselves.
	// The GOMAXPROCS environment variable still overrides.
	if os.Getenv("GOMAXPROCS") == "" {
		runtime.GOMAXPROCS(1)
	}
	// A monitor at rest holds little (its live heap is a few MB) and
	// allocates little; GOGC=100 would let its heap grow to twice that,
	// or to the runtime's 4 MB floor, before collecting. Half that
	// headroom keeps the resident set small at the cost of a collection
	// twice as often, which at these sizes is a fraction of a millisecond.
	// The GOGC environment variable still overrides.
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(50)
	}
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
