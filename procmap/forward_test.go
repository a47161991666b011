package procmap

import (
	"errors"
	"net/netip"
	"os"
	"testing"

	"github.com/vishvananda/netlink"

	"github.com/gohogs/gohogs/internal/netns"
	"github.com/gohogs/gohogs/internal/netnstest"
)

// endReason is err's EndReason, 0 if it is no *EndError.
func endReason(err error) EndReason {
	var ee *EndError
	if errors.As(err, &ee) {
		return ee.Reason
	}
	return 0
}

// TestResolveThroughNAT: a resolver in H finds this process's socket in the
// container C behind it: by the masqueraded tuple the uplink carries
// (conntrack), by the forwarded tuple C's veth carries (the address index),
// and by a published port's tuple (DNAT). What the far side of the NAT
// sees of R's end is no socket of C's (EndBeyondNAT); the untranslated
// copy is not looked up when the uplink is captured (EndCountedThere); an
// address only a namespace H does not reach holds is no end here.
func TestResolveThroughNAT(t *testing.T) {
	netnstest.Skip(t)
	n, inC, onUplink := natConn(t)
	p := netnstest.NewPair(t) // 10.250.0.x: held by namespaces that H does not reach
	cIno, err := netns.Inode("/run/netns/" + n.NSC)
	if err != nil {
		t.Fatal(err)
	}
	self := os.Getpid()
	r := newIn(t, n.NSH, Options{NoConnEvents: true})
	check := func(what string, f Flow) {
		t.Helper()
		o, err := r.Resolve(f)
		if err != nil || o.Process == nil || o.Process.PID != self || o.NetNS != cIno {
			t.Errorf("%s: Resolve(%+v) = %+v, %v; want this process (%d) in namespace %d", what, f, o, err, self, cIno)
		}
	}
	check("masqueraded, on the uplink", onUplink)
	check("forwarded, on C's veth", Flow{Proto: 6, Local: inC.Local, Remote: inC.Remote, Forwarded: true})
	rView := Flow{Proto: 6, Local: inC.Remote, Remote: inC.Local, Forwarded: true}
	if _, err := r.Resolve(rView); endReason(err) != EndBeyondNAT || !errors.Is(err, ErrNotFound) {
		t.Errorf("R's end as C's veth carries it: %v, want EndBeyondNAT", err)
	}
	other := Flow{Proto: 6, Local: netip.AddrPortFrom(p.AddrA4, 40000), Remote: netip.MustParseAddrPort("192.0.2.1:80"), Forwarded: true}
	if _, err := r.Resolve(other); endReason(err) != EndNotHosted {
		t.Errorf("an address of an unreachable namespace: %v, want EndNotHosted", err)
	}
	if st := r.Stats(); st.NATTranslated == 0 || st.Forwarded < 3 || st.Namespaces < 2 || st.ForwardingErr != nil || st.ConntrackErr != nil {
		t.Errorf("stats %+v", st)
	}

	// Captured on the uplink too: C's veth's copy is counted there.
	rc := newIn(t, n.NSH, Options{NoConnEvents: true, Captured: []string{n.IfUp, n.IfCont}})
	up, err := linkIndex(n.NSH, n.IfUp)
	if err != nil {
		t.Fatal(err)
	}
	var ee *EndError
	if _, err := rc.Resolve(Flow{Proto: 6, Local: inC.Local, Remote: inC.Remote, Forwarded: true}); !errors.As(err, &ee) ||
		ee.Reason != EndCountedThere || ee.Via != up {
		t.Errorf("C's veth's copy with the uplink captured: %v, want EndCountedThere via %d", err, up)
	}
	if o, err := rc.Resolve(onUplink); err != nil || o.Process == nil || o.Process.PID != self {
		t.Errorf("the uplink's copy with both captured: %+v, %v", o, err)
	}

	// A published port: R connects to H:8080, DNAT'd to this process's
	// listener in C.
	pub := netnstest.ConnectTCP(t, n.NSC, netip.AddrPortFrom(n.C4, n.Container), n.NSR, netip.AddrPortFrom(n.UpH4, n.Published))
	client := pub.Client
	check("published port, on the uplink", Flow{Proto: 6, Local: netip.AddrPortFrom(n.UpH4, n.Published), Remote: client})

	// Not followed.
	off := newIn(t, n.NSH, Options{NoConnEvents: true, NoForwarding: true})
	if _, err := off.Resolve(Flow{Proto: 6, Local: inC.Local, Remote: inC.Remote, Forwarded: true}); endReason(err) != EndNotFollowed {
		t.Errorf("with NoForwarding: %v, want EndNotFollowed", err)
	}
	if off.HostedAddrs() != nil || off.Stats().ForwardingErr == nil {
		t.Error("with NoForwarding: hosted addresses, or no reason in Stats")
	}
}

// linkIndex is the index of interface name in namespace ns.
func linkIndex(ns, name string) (int, error) {
	var i int
	err := netnstest.Do(ns, func() error {
		l, err := netlink.LinkByName(name)
		if err == nil {
			i = l.Attrs().Index
		}
		return err
	})
	return i, err
}
