package metrics

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/gohogs/gohogs/procmap"
	"github.com/gohogs/gohogs/trace"
)

const testID = "9a826d2c6ac699a5619fbc83cd0f3e21c405523829ac96af302ce2df1a701a08"

// TestContainerLabel: with ContainerLabel the counters are labelled by
// container (its name, else its short id) and unit; without it, the
// same rows make the usual series; labelled series expire as pid ones do.
func TestContainerLabel(t *testing.T) {
	t0 := time.Now()
	box := procmap.Container{Runtime: procmap.RuntimePodman, ID: testID}
	named := box
	named.Name = "web"
	rows := func(c procmap.Container) []trace.Row {
		return []trace.Row{
			{Kind: trace.KindProcess, Name: "nc", PID: 5, UID: 0, Sent: 100, TotalSent: 100, Container: c, Cgroup: "/libpod_parent/libpod-" + testID},
			{Kind: trace.KindProcess, Name: "nc", PID: 6, UID: 0, Sent: 10, TotalSent: 10, Unit: "session-3.scope"},
			{Kind: trace.KindProcess, Name: "nc", PID: 7, UID: 0, Sent: 1, TotalSent: 1},
			{Kind: trace.KindUnknownTCP, Name: "unknown TCP", Sent: 4, TotalSent: 4},
		}
	}
	head := `
# HELP gohogs_process_sent_bytes_total Bytes sent (whole frames, link header included), per program and user.
# TYPE gohogs_process_sent_bytes_total counter
`
	plain := New(Options{UserName: names})
	plain.Observe(snap(t0, 0, rows(box)...))
	if err := testutil.CollectAndCompare(plain, strings.NewReader(head+`gohogs_process_sent_bytes_total{program="nc",user="root"} 111
gohogs_process_sent_bytes_total{program="unknown TCP",user=""} 4
`), "gohogs_process_sent_bytes_total"); err != nil {
		t.Errorf("without ContainerLabel: %v", err)
	}

	e := New(Options{ContainerLabel: true, PIDExpiry: 90 * time.Second, UserName: names})
	e.Observe(snap(t0, 0, rows(box)...))
	e.Observe(snap(t0, 1, rows(named)...)) // the runtime named it meanwhile
	if err := testutil.CollectAndCompare(e, strings.NewReader(head+`gohogs_process_sent_bytes_total{container="",program="nc",unit="",user="root"} 2
gohogs_process_sent_bytes_total{container="",program="nc",unit="session-3.scope",user="root"} 20
gohogs_process_sent_bytes_total{container="",program="unknown TCP",unit="",user=""} 8
gohogs_process_sent_bytes_total{container="9a826d2c6ac6",program="nc",unit="",user="root"} 100
gohogs_process_sent_bytes_total{container="web",program="nc",unit="",user="root"} 100
`), "gohogs_process_sent_bytes_total"); err != nil {
		t.Errorf("with ContainerLabel: %v", err)
	}
	// 120 s later, only the plain process is listed: the container's and
	// the unit's series are gone, the others stay.
	e.Observe(snap(t0, 121, rows(named)[2]))
	if err := testutil.CollectAndCompare(e, strings.NewReader(head+`gohogs_process_sent_bytes_total{container="",program="nc",unit="",user="root"} 3
gohogs_process_sent_bytes_total{container="",program="unknown TCP",unit="",user=""} 8
`), "gohogs_process_sent_bytes_total"); err != nil {
		t.Errorf("after expiry: %v", err)
	}
}
