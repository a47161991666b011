package main

import (
	"fmt"
	"io"

	"github.com/gohogs/gohogs"
)

// namesWarning is the line that says why connections keep their bare
// addresses although remote names were asked for; "" otherwise.
func namesWarning(m *gohogs.Monitor) string {
	if err := m.Stats().Names.Err; err != nil {
		return fmt.Sprintf("%v; connections keep their addresses (--no-remote-names says not to try)", err)
	}
	return ""
}

// bughuntNames prints -x's line about the DNS answers read, when they are.
func bughuntNames(stderr io.Writer, n gohogs.NameStats) {
	switch {
	case n.Err != nil:
		fmt.Fprintf(stderr, "gohogs: names %v\n", n.Err)
	case n.Stats != (gohogs.NameStats{}).Stats:
		fmt.Fprintf(stderr, "gohogs: names frames %d answers %d addresses %d names %d malformed %d tcp-skipped %d kernel-drops %d\n",
			n.Frames, n.Answers, n.Addresses, n.Names, n.Malformed, n.TCPSkipped, n.KernelDrops)
	}
}
