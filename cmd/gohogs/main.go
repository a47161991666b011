// Command gohogs is a per-process network bandwidth monitor for Linux, a
// drop-in for nethogs: `gohogs -t eth0` prints nethogs's trace format with
// rates that are right. `gohogs report FILE...` sums trace logs. Run
// `gohogs -h` for the flags.
package main

import (
	"os"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
