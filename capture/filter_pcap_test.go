//go:build pcap

package capture

import (
	"github.com/gohogs/gohogs/internal/netnstest"
	"net/netip"
	"strings"
	"testing"
)

// TestFilter captures on lo with the filter "udp" on each backend: only the
// UDP datagrams are captured, each once (on afpacket the loopback check
// runs ahead of the compiled filter).
func TestFilter(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.String(), func(t *testing.T) {
			ns := newNetns(t)
			c, tl := startCapture(t, ns, Options{Interfaces: []string{"lo"}, Backend: b, Filter: "udp"})
			lo4, lo6 := netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("::1")
			const n, size = 30, 500
			tcpSend(t, ns, ns, lo4, 100000)
			u4, got4 := udpSend(t, ns, ns, lo4, n, size)
			u6, got6 := udpSend(t, ns, ns, lo6, n, size)
			want := uint64(got4 + got6)
			wantBytes := uint64(got4*(14+20+8+size) + got6*(14+40+8+size))
			settle(t, ns, "lo", tl, func(netnstest.Counters) (uint64, uint64) { return want, wantBytes })
			tl.mu.Lock()
			defer tl.mu.Unlock()
			if tl.packets != want || tl.bytes != wantBytes || tl.udpPackets[u4] != uint64(got4) || tl.udpPackets[u6] != uint64(got6) {
				t.Errorf("filter udp: captured %d packets / %d bytes (%d to %d, %d to %d), want %d / %d",
					tl.packets, tl.bytes, tl.udpPackets[u4], u4, tl.udpPackets[u6], u6, want, wantBytes)
			}
			if len(tl.tcpBytes) != 0 {
				t.Errorf("filter udp let TCP through: %v", tl.tcpBytes)
			}
			_ = c
		})
	}
}

func TestFilterSyntaxError(t *testing.T) {
	ns := newNetns(t)
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
	err := withoutCapNetRaw(func() error {
		_, err := Open(Options{Interfaces: []string{"lo"}, Backend: BackendPcap})
		return err
	})
	if err == nil || !strings.Contains(err.Error(), "CAP_NET_RAW") {
		t.Errorf("pcap without CAP_NET_RAW: %v", err)
	}
}
