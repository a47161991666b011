package gohogs_test

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"time"

	"github.com/gohogs/gohogs"
	"github.com/gohogs/gohogs/trace"
)

// Watch eth0 for a minute and print, every 2 seconds, who sent and received
// what. (Not run by go test: it needs root and an interface named eth0; see
// TestTwoMonitorsAtOnce for the same done in namespaces of its own.)
func Example() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()

	m, err := gohogs.Open(ctx, gohogs.Options{
		Interfaces: []string{"eth0"},
		UDP:        true,
		Interval:   2 * time.Second,
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return
	}
	defer m.Close()
	// Refreshes at 0, 2, 4 … 60 s, then Run returns; Ctrl-C ends it sooner.
	err = m.Run(ctx, gohogs.Schedule{Duration: time.Minute}, func(s *trace.Snapshot) error {
		for _, r := range trace.Sorted(s, trace.ViewKBps, false) {
			if r.Sent|r.Recv == 0 {
				continue
			}
			fmt.Printf("%s pid %d uid %d: sent %d B, received %d B in %v (total %d/%d)\n",
				r.Name, r.PID, r.UID, r.Sent, r.Recv, s.Elapsed, r.TotalSent, r.TotalRecv)
			for _, c := range r.Conns {
				fmt.Printf("\t%s -> %s: %d/%d\n", c.Local, c.Remote, c.Sent, c.Recv)
			}
		}
		return nil
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
	}
}

// Refreshes delivers the same refreshes on a channel, closed when the
// schedule (here 10 s) or the context ends; Err then says whether
// capture failed.
func ExampleMonitor_Refreshes() {
	ctx := context.Background()
	m, err := gohogs.Open(ctx, gohogs.Options{Interfaces: []string{"eth0"}})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return
	}
	defer m.Close()
	var sent, recv uint64
	for s := range m.Refreshes(ctx, gohogs.Schedule{Duration: 10 * time.Second}) {
		for _, r := range s.Rows {
			sent += r.Sent
			recv += r.Recv
		}
	}
	if err := m.Err(); err != nil {
		fmt.Fprintln(os.Stderr, err)
	}
	fmt.Printf("10 s on eth0: %d bytes out, %d in\n", sent, recv)
}
