package capture

import (
	"testing"

	"golang.org/x/sys/unix"
)

// TestDLTOf checks the ARPHRD → DLT mapping against what libpcap reports
// for the same devices.
func TestDLTOf(t *testing.T) {
	for _, c := range []struct {
		arphrd uint16
		want   LinkType
		raw    bool
	}{
		{unix.ARPHRD_ETHER, LinkEthernet, false},
		{unix.ARPHRD_LOOPBACK, LinkEthernet, false},
		{unix.ARPHRD_NONE, LinkRaw, true}, // tun
		{unix.ARPHRD_RAWIP, LinkRaw, true},
		{unix.ARPHRD_TUNNEL, LinkRaw, true}, // ipip
		{unix.ARPHRD_SIT, LinkRaw, true},
		{unix.ARPHRD_PPP, LinkLinuxSLL, true}, // libpcap: cooked
		{unix.ARPHRD_INFINIBAND, LinkLinuxSLL, true},
	} {
		got, raw := dltOf(c.arphrd)
		if got != c.want || raw != c.raw {
			t.Errorf("ARPHRD %d: got DLT %d raw %v, want %d %v", c.arphrd, got, raw, c.want, c.raw)
		}
	}
}
