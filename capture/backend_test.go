package capture

import (
	"strings"
	"testing"
)

func TestParseBackend(t *testing.T) {
	for _, c := range []struct {
		in   string
		want Backend
		str  string
	}{
		{"", BackendDefault, "default"},
		{"default", BackendDefault, "default"},
		{"ebpf", BackendEBPF, "ebpf"},
		{"afpacket", BackendAFPacket, "afpacket"},
		{"pcap", BackendPcap, "pcap"},
	} {
		got, err := ParseBackend(c.in)
		if err != nil || got != c.want || got.String() != c.str {
			t.Errorf("ParseBackend(%q) = %v (%d), %v; want %s (%d)", c.in, got, got, err, c.str, c.want)
		}
		// What String prints parses back to a backend that reads the same way.
		if again, err := ParseBackend(got.String()); err != nil || again.String() != got.String() {
			t.Errorf("ParseBackend(%q) = %v, %v", got.String(), again, err)
		}
	}
	for _, in := range []string{"AFPACKET", "libpcap", " pcap", "bogus"} {
		_, err := ParseBackend(in)
		if err == nil || !strings.Contains(err.Error(), in) || !strings.Contains(err.Error(), "ebpf, afpacket, pcap") {
			t.Errorf("ParseBackend(%q): error %v, want one naming it and what is accepted", in, err)
		}
	}
	if s := Backend(7).String(); s != "Backend(7)" {
		t.Errorf("Backend(7).String() = %q", s)
	}
}
