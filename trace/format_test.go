package trace

import (
	"bytes"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/gohogs/gohogs/capture"
	"github.com/gohogs/gohogs/trace/nethogs"
)

// checkTrace fails t for any line of out outside nethogs's grammar or out of
// place (start-up lines, then refresh blocks), and returns the process rows.
func checkTrace(t *testing.T, out string) []nethogs.Proc {
	t.Helper()
	var rows []nethogs.Proc
	startup := true
	for n, l := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		ln, err := nethogs.ParseLine(l)
		switch {
		case err != nil:
			t.Errorf("line %d: %v: %q", n+1, err, l)
		case ln.Kind == nethogs.KindStartup && startup:
		case ln.Kind == nethogs.KindBlank:
			startup = false
		case ln.Kind == nethogs.KindRefreshing || ln.Kind == nethogs.KindUnknownConn:
		case ln.Kind == nethogs.KindProcess && !startup:
			rows = append(rows, ln.Proc)
		default:
			t.Errorf("line %d: %v line out of place: %q", n+1, ln.Kind, l)
		}
	}
	return rows
}

func TestWriterOutputParsesBack(t *testing.T) {
	s := &Snapshot{Elapsed: 2 * time.Second, Rows: []Row{
		{Kind: KindUnknownTCP, Name: "unknown TCP"},
		{Kind: KindProcess, Name: "sshd: root@pts/0", PID: 4002, UID: 0, Sent: 2048, Recv: 10240, Args: ""},
		{Kind: KindProcess, Name: "/usr/bin/python3", PID: 77, UID: 1000, Sent: 1 << 30, Recv: 10240, Args: "-m http.server"},
		{Kind: KindSocket, Name: "127.0.0.1:44770-127.0.0.1:7101", Sent: 356},
		{Kind: KindUnknownUDP, Name: "unknown UDP"},
	}, UnknownConns: []Conn{{Proto: capture.ProtoTCP, Local: netip.MustParseAddrPort("[::1]:7101"), Remote: netip.MustParseAddrPort("[::1]:52312")}}}
	var buf bytes.Buffer
	w := NewWriter(&buf)
	if err := w.StartupLines([]string{"127.0.0.1", "::1"}, 1); err != nil {
		t.Fatal(err)
	}
	if err := w.Refresh(s); err != nil {
		t.Fatal(err)
	}
	want := "Adding local address: 127.0.0.1\nAdding local address: ::1\nEthernet link detected\n" +
		"\nRefreshing:\n" +
		// Ties on RECV are broken by SENT, descending.
		"/usr/bin/python3/77/1000\t524288\t5\n" +
		"sshd: root@pts/0/4002/0\t1\t5\n" +
		"127.0.0.1:44770-127.0.0.1:7101/0/0\t0.173828\t0\n" +
		"unknown UDP/0/0\t0\t0\n" +
		"unknown TCP/0/0\t0\t0\n" +
		"Unknown connection: ::1:7101-::1:52312\n"
	if got := buf.String(); got != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
	sums := map[int]float64{}
	for _, p := range checkTrace(t, buf.String()) {
		sums[p.PID] += p.Sent
		if p.PID == 4002 && p.Name != "sshd: root@pts/0" {
			t.Errorf("name read back as %q", p.Name)
		}
	}
	if sums[77] != 524288 || sums[4002] != 1 {
		t.Errorf("read back %v", sums)
	}

	buf.Reset()
	w.Cmdline, w.BySent, w.Mode = true, true, ViewTotalB
	s.Rows[2].TotalSent = 3 << 30
	if err := w.Refresh(s); err != nil {
		t.Fatal(err)
	}
	if l := strings.Split(buf.String(), "\n")[2]; l != "/usr/bin/python3 -m http.server/77/1000\t3.22123e+09\t0" {
		t.Errorf("-l -s -v 2 first row %q", l)
	}
	checkTrace(t, buf.String())
}

// The names kept in package trace are the grammar's.
func TestGrammarNames(t *testing.T) {
	if FormatValue(20000.0/1024) != "19.5312" || string(AppendValue([]byte("x"), 1e-7)) != "x1e-07" ||
		LinkLine(113) != "Linux Cooked Socket link detected" || ViewTotalMB.Value(0, 3<<20, 0) != 3 || NumViewModes != 6 {
		t.Error("trace's grammar names do not give the grammar's results")
	}
}
