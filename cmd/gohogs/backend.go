package main

import (
	"fmt"
	"io"

	"github.com/gohogs/gohogs"
)

// fallbackText says why the default eBPF backend is not used (the kernel,
// the privileges, a -f filter), or is "": the devices fall back to afpacket
// for the same reason, so one line says it.
func fallbackText(devices []gohogs.Device) string {
	for _, d := range devices {
		if d.Fallback != nil {
			return fmt.Sprintf("gohogs: capturing with afpacket, not eBPF: %v", d.Fallback)
		}
	}
	return ""
}

// fallbackLine prints fallbackText's line, if any, on stderr.
func fallbackLine(stderr io.Writer, devices []gohogs.Device) {
	if line := fallbackText(devices); line != "" {
		fmt.Fprintln(stderr, line)
	}
}
