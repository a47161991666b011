package trace

import (
	"net/netip"
	"sync"
	"testing"
	"time"
)

// mapNamer names remote addresses from a table, and counts the questions.
type mapNamer struct {
	mu    sync.Mutex
	names map[netip.Addr]string
	asked []Conn
}

func (n *mapNamer) RemoteName(c Conn) string {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.asked = append(n.asked, c)
	return n.names[c.Remote.Addr()]
}

// TestRemoteNames: each connection of a row gets its remote end's name at
// each refresh, asked once per connection with its own ends; a connection
// without a name keeps "".
func TestRemoteNames(t *testing.T) {
	bubble(t, func(t *testing.T) {
		hostC := netip.MustParseAddr("10.0.0.3")
		n := &mapNamer{names: map[netip.Addr]string{hostB: "files.example.test"}}
		a := newAccountant(Config{RemoteNames: n})
		defer a.Close()
		a.Packet(tcpFlow(hostA, hostB, 40000, 443, 1000))
		a.Packet(tcpFlow(hostA, hostC, 40000, 80, 500))
		waitResolved(t, a, 2)
		s := a.Refresh(t0.Add(time.Second))
		conns := rowsByName(s)["/usr/bin/curl"].Conns
		if len(conns) != 2 {
			t.Fatalf("conns %+v", conns)
		}
		got := map[netip.AddrPort]string{}
		for _, c := range conns {
			got[c.Remote] = c.RemoteName
		}
		if got[netip.AddrPortFrom(hostB, 443)] != "files.example.test" || got[netip.AddrPortFrom(hostC, 80)] != "" {
			t.Errorf("remote names %v", got)
		}
		n.mu.Lock()
		defer n.mu.Unlock()
		if len(n.asked) != 2 {
			t.Fatalf("asked %d times, want 2 (once per connection): %+v", len(n.asked), n.asked)
		}
		for _, c := range n.asked {
			if c.Local != netip.AddrPortFrom(hostA, 40000) || c.RemoteName != "" {
				t.Errorf("asked about %+v", c)
			}
		}
	})
}
