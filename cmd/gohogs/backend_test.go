package main

import (
	"errors"
	"strings"
	"testing"

	"github.com/gohogs/gohogs"
	"github.com/gohogs/gohogs/capture"
)

// TestFallbackText: one line, on the devices' shared reason, when the
// default backend is afpacket instead of eBPF (a -f filter here: the
// programs cannot run one, so that run captures with afpacket).
func TestFallbackText(t *testing.T) {
	if got := fallbackText([]gohogs.Device{{Name: "eth0", Backend: capture.BackendEBPF}}); got != "" {
		t.Errorf("eBPF: %q, want no line", got)
	}
	why := errors.New("the ebpf backend cannot run a filter expression (-f)")
	devs := []gohogs.Device{{Name: "eth0", Backend: capture.BackendAFPacket, Fallback: why}, {Name: "eth1", Backend: capture.BackendAFPacket, Fallback: why}}
	got := fallbackText(devs)
	if strings.Count(got, "\n") != 0 {
		t.Fatalf("more than one line: %q", got)
	}
	if want := "gohogs: capturing with afpacket, not eBPF: the ebpf backend cannot run a filter expression (-f)"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}
