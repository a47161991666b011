// Command gohogs is a per-process network bandwidth monitor for Linux, a
// drop-in for nethogs: `gohogs -t eth0` prints nethogs's trace format with
// rates that are right. `gohogs report FILE...` sums trace logs. Run
// `gohogs -h` for the flags.
package main

import (
	"os"
	"runtime"
)

func main() {
	// gohogs's work is many short steps that hand over to each other
	// (capture, lookups, tracepoint events): with one P they run in turn
	// on one thread instead of waking idle threads for each, which cost
	// more than the steps (lo storm, 2000 connections/s: 0.17-0.19 of a
	// core against 0.21-0.22 with a P per core). The GOMAXPROCS
	// environment variable still overrides.
	if os.Getenv("GOMAXPROCS") == "" {
		runtime.GOMAXPROCS(1)
	}
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
