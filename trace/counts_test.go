package trace

import (
	"testing"
	"time"

	"github.com/gohogs/gohogs/capture"
)

// TestCountsLikePackets: a bulk count credits what its packets would have,
// one by one: both directions to curl's row (its first packet made the
// flow), the ignored protocols to Ignored, and an overflow bucket (no
// addresses) to the unknown rows on its side.
func TestCountsLikePackets(t *testing.T) {
	bubble(t, func(t *testing.T) {
		a := curlSent(t, Config{UDP: true}, 100) // the first packet, handed up
		defer a.Close()
		cut := t0.Add(time.Second)
		sent := tcpFlow(hostA, hostB, 40000, 80, 9000)
		sent.Timestamp = cut
		recv := tcpFlow(hostB, hostA, 80, 40000, 600)
		recv.Timestamp = cut
		a.Counts([]capture.FlowCount{
			{Packet: *sent, Packets: 6},
			{Packet: *recv, Packets: 10},
			{Packet: capture.Packet{Timestamp: cut, Length: 980, Proto: capture.ProtoICMP, Src: hostB, Dst: hostA}, Packets: 10},
			{Packet: capture.Packet{Timestamp: cut, Length: 640, Proto: capture.ProtoTCP, Type: capture.PacketOutgoing}, Packets: 10},
			{Packet: capture.Packet{Timestamp: cut, Length: 320, Proto: capture.ProtoUDP, Type: capture.PacketHost}, Packets: 5},
		})
		waitResolved(t, a, 1)
		s := a.Refresh(cut)
		rows := rowsByName(s)
		if r := rows["/usr/bin/curl"]; r.Sent != 9100 || r.Recv != 600 {
			t.Errorf("curl: sent %d recv %d, want 9100 and 600", r.Sent, r.Recv)
		}
		if r := rows["unknown TCP"]; r.Sent != 640 || r.Recv != 0 {
			t.Errorf("unknown TCP: sent %d recv %d, want the overflow's 640 sent", r.Sent, r.Recv)
		}
		if r := rows["unknown UDP"]; r.Sent != 0 || r.Recv != 320 {
			t.Errorf("unknown UDP: sent %d recv %d, want the overflow's 320 received", r.Sent, r.Recv)
		}
		st := a.Stats()
		if st.Packets != 1+6+10+10+5 || st.Bytes != 100+9000+600+640+320 || st.Ignored != 10 || st.UnknownBytes != 960 {
			t.Errorf("stats %+v", st)
		}
	})
}
