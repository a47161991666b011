//go:build pcap

package capture

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/gohogs/gohogs/internal/netnstest"
	"golang.org/x/sys/unix"
)

// TestFilter captures on lo with the filter "udp" on each backend: only the
// UDP datagrams are captured, each once (on afpacket the loopback check
// runs ahead of the compiled filter).
func TestFilter(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b Backend) {
		ns := netnstest.NewLoopback(t, "ghL")
		c, tl := startCapture(t, ns, Options{Interfaces: []string{"lo"}, Backend: b, Filter: "udp"})
		lo4, lo6 := netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("::1")
		const n, size = 30, 500
		tcpSend(t, ns, ns, lo4, 100000)
		u4, got4 := udpSend(t, ns, ns, lo4, n, size)
		u6, got6 := udpSend(t, ns, ns, lo6, n, size)
		want := uint64(got4 + got6)
		wantBytes := uint64(got4*(14+20+8+size) + got6*(14+40+8+size))
		poll(5*time.Second, func() bool { p, b := tl.get(); return p == want && b == wantBytes })
		s := tl.snapshot()
		if s.packets != want || s.bytes != wantBytes || s.udpPackets[u4] != uint64(got4) || s.udpPackets[u6] != uint64(got6) {
			t.Errorf("filter udp: captured %d packets / %d bytes (%d to %d, %d to %d), want %d / %d",
				s.packets, s.bytes, s.udpPackets[u4], u4, s.udpPackets[u6], u6, want, wantBytes)
		}
		if len(s.tcpBytes) != 0 {
			t.Errorf("filter udp let TCP through: %v", s.tcpBytes)
		}
		if st := c.Stats(); st[0].Packets != s.packets {
			t.Errorf("Stats() = %+v, handler saw %d packets", st, s.packets)
		}
	})
}

func TestFilterSyntaxError(t *testing.T) {
	ns := netnstest.NewLoopback(t, "ghL")
	for _, b := range backends() {
		err := netnstest.Do(ns, func() error {
			_, err := Open(Options{Interfaces: []string{"lo"}, Backend: b, Filter: "tcp and and"})
			return err
		})
		if err == nil || !strings.Contains(err.Error(), "lo") {
			t.Errorf("%s: bad filter: %v", b, err)
		}
	}
}

func TestPcapBackendErrors(t *testing.T) {
	if _, err := Open(Options{Interfaces: []string{"gohogs-nope0"}, Backend: BackendPcap}); err == nil || !strings.Contains(err.Error(), `interface "gohogs-nope0" does not exist`) {
		t.Errorf("non-existent interface: %v", err)
	}
	err := withoutCap(unix.CAP_NET_RAW, func() error {
		_, err := Open(Options{Interfaces: []string{"lo"}, Backend: BackendPcap})
		return err
	})
	if err == nil || !strings.Contains(err.Error(), "CAP_NET_RAW") {
		t.Errorf("pcap without CAP_NET_RAW: %v", err)
	}
}
