package netnstest

import (
	"net/netip"
	"strconv"
	"testing"
)

// TestNATCarriesTraffic: through a NAT (with and without a bridge), C
// reaches R (masqueraded: R sees H's uplink address) and R reaches C's
// port through H's published port (DNAT: C sees R's address), over IPv4
// and IPv6.
func TestNATCarriesTraffic(t *testing.T) {
	for _, bridge := range []bool{false, true} {
		t.Run("bridge="+strconv.FormatBool(bridge), func(t *testing.T) {
			n := NewNAT(t, NATOptions{Bridge: bridge})
			for _, fam := range []int{4, 6} {
				upH, upR, c := n.UpH4, n.UpR4, n.C4
				if fam == 6 {
					upH, upR, c = n.UpH6, n.UpR6, n.C6
				}
				// C to R: R sees the connection come from H's uplink address.
				if from := roundTrip(t, n.NSR, n.NSC, netip.AddrPortFrom(upR, 0), netip.AddrPort{}); from != upH {
					t.Errorf("IPv%d: R saw C's connection from %v, want %v (masquerade)", fam, from, upH)
				}
				// R to H's published port: C sees R's own address.
				if from := roundTrip(t, n.NSC, n.NSR, netip.AddrPortFrom(c, n.Container), netip.AddrPortFrom(upH, n.Published)); from != upR {
					t.Errorf("IPv%d: C saw R's connection from %v, want %v (DNAT only)", fam, from, upR)
				}
			}
		})
	}
}

// roundTrip connects from namespace cli to dial (the listener on at in
// namespace srv when zero) and returns the address the server saw.
func roundTrip(t *testing.T, srv, cli string, at, dial netip.AddrPort) netip.Addr {
	t.Helper()
	return ConnectTCP(t, srv, at, cli, dial).Seen.Addr()
}
