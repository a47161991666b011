package procmap

import (
	"fmt"
	"io"
	"net"
	"sync"
	"testing"
	"time"
)

// TestLiveShortConnections: a child makes 200 short TCP connections, one
// after the other, to a server in this process (IPv4 and IPv6). For each
// accepted connection the server resolves the client's end of the flow, as
// the trace worker would on the first packet, before answering. Every one
// must be credited to the child, and the incremental index must find them
// without rescanning every process for each (the child reuses one fd
// number, read first as a "churn" fd).
func TestLiveShortConnections(t *testing.T) {
	const n = 200
	for _, fam := range []struct{ net, addr string }{{"tcp4", "127.0.0.1:0"}, {"tcp6", "[::1]:0"}} {
		t.Run(fam.net, func(t *testing.T) {
			r := newLive(t, Options{})
			ln, err := net.Listen(fam.net, fam.addr)
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			type result struct {
				pid  int
				name string
				err  error
			}
			var mu sync.Mutex
			var results []result
			var wg sync.WaitGroup
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < n; i++ {
					s, err := ln.Accept()
					if err != nil {
						return
					}
					s.SetDeadline(time.Now().Add(5 * time.Second))
					b := make([]byte, 1)
					io.ReadFull(s, b)
					o, err := r.Resolve(Flow{Proto: 6, Local: ap(s.RemoteAddr()), Remote: ap(s.LocalAddr())})
					res := result{err: err}
					if err == nil && o.Process != nil {
						res.pid, res.name = o.Process.PID, o.Process.Name
					}
					mu.Lock()
					results = append(results, res)
					mu.Unlock()
					s.Write(b)
					s.Close()
				}
			}()
			c := startChildEnv(t, "gohogs shortconn", "shortconn", -1,
				[]string{childEnv + "_N=" + fmt.Sprint(n), childEnv + "_ADDR=" + ln.Addr().String()})
			ln.Close()
			wg.Wait()
			if len(results) != n {
				t.Fatalf("%d connections served, want %d", len(results), n)
			}
			good := 0
			for _, res := range results {
				if res.pid == c.cmd.Process.Pid && res.name == "gohogs shortconn" {
					good++
				}
			}
			st := r.Stats()
			t.Logf("%d/%d credited to the child; stats %+v", good, n, st)
			if good != n {
				t.Fatalf("%d/%d connections credited to the child pid %d", good, n, c.cmd.Process.Pid)
			}
			if st.FullScans > 2 {
				t.Fatalf("%d full scans for %d connections of one process", st.FullScans, n)
			}
		})
	}
}
