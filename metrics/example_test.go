package metrics_test

import (
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/prometheus/common/expfmt"

	"github.com/gohogs/gohogs/metrics"
	"github.com/gohogs/gohogs/trace"
)

// An Exporter adds each refresh's bytes to counters per program and user;
// the process of a program may come and go, its counter only grows.
func ExampleExporter() {
	e := metrics.New(metrics.Options{
		UserName: func(uid uint32) string { return map[uint32]string{0: "root", 1000: "alice"}[uid] },
	})
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	e.Observe(&trace.Snapshot{Time: t0, Seq: 1, Rows: []trace.Row{
		{Kind: trace.KindProcess, Name: "/usr/bin/curl", PID: 100, UID: 1000, Sent: 1500, Recv: 60000, TotalSent: 1500, TotalRecv: 60000},
		{Kind: trace.KindProcess, Name: "/usr/sbin/sshd", PID: 7, UID: 0, Sent: 200, Recv: 100, TotalSent: 200, TotalRecv: 100},
	}})
	// curl 100 is gone; another curl runs.
	e.Observe(&trace.Snapshot{Time: t0.Add(time.Second), Seq: 2, Rows: []trace.Row{
		{Kind: trace.KindProcess, Name: "/usr/bin/curl", PID: 101, UID: 1000, Sent: 500, Recv: 40000, TotalSent: 500, TotalRecv: 40000},
		{Kind: trace.KindUnknownTCP, Name: "unknown TCP", Sent: 66, TotalSent: 66},
	}})
	reg, err := e.Registry(false)
	if err != nil {
		fmt.Println(err)
		return
	}
	mfs, err := reg.Gather()
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, mf := range mfs {
		if strings.HasPrefix(mf.GetName(), "gohogs_process_") {
			expfmt.MetricFamilyToText(os.Stdout, mf)
		}
	}
	// Output:
	// # HELP gohogs_process_received_bytes_total Bytes received (whole frames, link header included), per program and user.
	// # TYPE gohogs_process_received_bytes_total counter
	// gohogs_process_received_bytes_total{program="/usr/bin/curl",user="alice"} 100000
	// gohogs_process_received_bytes_total{program="/usr/sbin/sshd",user="root"} 100
	// gohogs_process_received_bytes_total{program="unknown TCP",user=""} 0
	// # HELP gohogs_process_sent_bytes_total Bytes sent (whole frames, link header included), per program and user.
	// # TYPE gohogs_process_sent_bytes_total counter
	// gohogs_process_sent_bytes_total{program="/usr/bin/curl",user="alice"} 2000
	// gohogs_process_sent_bytes_total{program="/usr/sbin/sshd",user="root"} 200
	// gohogs_process_sent_bytes_total{program="unknown TCP",user=""} 66
}
