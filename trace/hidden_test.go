package trace

import (
	"testing"
	"time"

	"github.com/gohogs/gohogs/procmap"
)

// TestHiddenHolderNamedLater: a socket whose holder is not seen at the
// first lookup (a short-lived process's connect event still on its way)
// is looked up again, its bytes held: named 100 ms later, its bytes go to
// the process, not to a socket row. One never named gets its socket row
// after the quick retries, none of its bytes lost.
func TestHiddenHolderNamedLater(t *testing.T) {
	bubble(t, func(t *testing.T) {
		for _, named := range []bool{true, false} {
			start := time.Now()
			res := resolverFunc(func(f procmap.Flow) (procmap.Owner, error) {
				if named && time.Since(start) >= 100*time.Millisecond {
					return procmap.Owner{Inode: 7, Process: client}, nil
				}
				return procmap.Owner{Inode: 7, UID: 1000}, nil
			})
			a := New(Config{Locals: localSet{hostA: true}, Resolver: res}, start)
			a.Packet(tcpFlow(hostA, hostB, 40000, 80, 1500))
			waitResolved(t, a, 1)
			rows := rowsByName(a.Refresh(start.Add(time.Second)))
			sock := rows["10.0.0.1:40000-10.0.0.2:80"]
			if named && (rows[client.Name].Sent != 1500 || sock.Sent != 0) {
				t.Errorf("named later: rows %+v", rows)
			}
			if !named && (sock.Kind != KindSocket || sock.Sent != 1500 || sock.UID != 1000) {
				t.Errorf("never named: rows %+v", rows)
			}
			a.Close()
		}
	})
}
