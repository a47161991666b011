package capture

import "testing"

func TestProtoString(t *testing.T) {
	for p, want := range map[Proto]string{
		ProtoTCP: "TCP", ProtoUDP: "UDP", ProtoICMP: "ICMP", ProtoICMPv6: "ICMPv6",
		ProtoDCCP: "DCCP", ProtoSCTP: "SCTP", ProtoUDPLite: "UDPLite", 47: "47", 0: "0", 255: "255",
	} {
		if got := p.String(); got != want {
			t.Errorf("Proto(%d).String() = %q, want %q", uint8(p), got, want)
		}
	}
}
