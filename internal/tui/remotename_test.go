package tui

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"

	"github.com/gdamore/tcell/v2"
)

// TestRemoteNames: a connection whose remote end has a DNS name is listed
// by name and port, its address after; one without stays an address; the
// filter finds a row by the names of its connections.
func TestRemoteNames(t *testing.T) {
	s := newScreen(t, 110, 30)
	m := newModel(Config{})
	snap := snapshot(1)
	snap.Rows[1].Conns[0].RemoteName = "files.example.test"
	snap.Rows[2].Conns[0].Remote = netip.MustParseAddrPort("[fd00:1::3]:443")
	snap.Rows[2].Conns[0].RemoteName = "edge.cdn.test"
	m.Update(snap)
	m.HandleKey(special(tcell.KeyHome)) // curl, the top row by RECEIVED
	text := strings.Join(screen(t, m, s), "\n")
	if want := "TCP  10.0.0.5:40000 -> files.example.test:443 (93.184.216.34)  sent 1.0 kB/s"; !strings.Contains(text, want) {
		t.Errorf("curl's details lack %q:\n%s", want, text)
	}
	m.HandleKey(key('j')) // ssh
	m.HandleKey(key('j')) // nginx
	text = strings.Join(screen(t, m, s), "\n")
	for _, want := range []string{
		"TCP  10.0.0.5:80 -> edge.cdn.test:443 (fd00:1::3)  sent",
		"TCP  127.0.0.1:80 -> 127.0.0.1:6666  sent",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("nginx's details lack %q:\n%s", want, text)
		}
	}
	m.HandleKey(special(tcell.KeyEscape))
	m.HandleKey(key('/'))
	for _, r := range "CDN.test" {
		m.HandleKey(key(r))
	}
	if got := pids(tableRows(screen(t, m, s))); fmt.Sprint(got) != "[200]" {
		t.Errorf("filter by a remote name: rows %v", got)
	}
}
