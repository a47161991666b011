package nethogs

import (
	"bufio"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestFormatValueLikeNethogs(t *testing.T) {
	for _, c := range []struct {
		v    float64
		want string
	}{
		{0, "0"},
		{12.0 / 1024, "0.0117188"},
		{20000.0 / 1024, "19.5312"},
		{0.056 / 1024 / 1.024, "5.34058e-05"},
		{1257710, "1.25771e+06"},
		{5415650, "5.41565e+06"},
		{382648, "382648"},
		{0.5, "0.5"},
		{100, "100"},
		{1e-7, "1e-07"},
	} {
		if got := FormatValue(c.v); got != c.want {
			t.Errorf("FormatValue(%v) = %q, want %q", c.v, got, c.want)
		}
	}
}

func TestViewModes(t *testing.T) {
	const b = 3 << 20
	for _, c := range []struct {
		m    ViewMode
		want float64
	}{
		{ViewKBps, b / 1024 / 2}, {ViewMBps, 1.5}, {ViewGBps, 1.5 / 1024},
		{ViewTotalKB, 3 * 1024 * 2}, {ViewTotalB, 2 * b}, {ViewTotalMB, 6},
		{NumViewModes, 0}, {-1, 0},
	} {
		if got := c.m.Value(b, 2*b, 2*time.Second); got != c.want {
			t.Errorf("mode %d: %v, want %v", c.m, got, c.want)
		}
	}
	if v := ViewKBps.Value(b, b, 0); v != 0 {
		t.Errorf("a rate over no time is %v, want 0", v)
	}
	for m, want := range map[ViewMode]struct {
		bytes float64
		rate  bool
		unit  string
	}{
		ViewKBps: {1024, true, "kB/s"}, ViewTotalKB: {1024, false, "kB"}, ViewTotalB: {1, false, "bytes"},
		ViewTotalMB: {1 << 20, false, "MB"}, ViewMBps: {1 << 20, true, "MB/s"}, ViewGBps: {1 << 30, true, "GB/s"},
		NumViewModes: {0, false, "?"}, -1: {0, false, "?"},
	} {
		if m.UnitBytes() != want.bytes || m.IsRate() != want.rate || m.Unit() != want.unit || m.Valid() != (want.bytes > 0) {
			t.Errorf("mode %d: %v bytes, rate %v, unit %q, valid %v; want %+v", m, m.UnitBytes(), m.IsRate(), m.Unit(), m.Valid(), want)
		}
	}
}

func TestParseLineProcess(t *testing.T) {
	for _, c := range []struct {
		line string
		want Proc
	}{
		{"iperf3/4096/0\t25.2139\t0", Proc{"iperf3", 4096, 0, 25.2139, 0}},
		{"/root/.pyenv/versions/3.11.7/bin/python3/5118/0\t1.38925e+06\t0", Proc{"/root/.pyenv/versions/3.11.7/bin/python3", 5118, 0, 1.38925e6, 0}},
		{"sshd: root@pts/0/4002/0\t0.0117188\t5.34058e-05", Proc{"sshd: root@pts/0", 4002, 0, 0.0117188, 5.34058e-05}},
		{"python3 -m http.server 8000/1234/1000\t1\t2", Proc{"python3 -m http.server 8000", 1234, 1000, 1, 2}},
		{"unknown TCP/0/0\t0\t0", Proc{"unknown TCP", 0, 0, 0, 0}},
		{"unknown UDP/0/0\t19.5312\t0\r", Proc{"unknown UDP", 0, 0, 19.5312, 0}},
		{"127.0.0.1:44770-127.0.0.1:7101/0/0\t356\t0", Proc{"127.0.0.1:44770-127.0.0.1:7101", 0, 0, 356, 0}},
		{"fd00::1:80-fd00::2:5555/0/0\t1\t0", Proc{"fd00::1:80-fd00::2:5555", 0, 0, 1, 0}},
		{"/12/4294967295\t0\t0", Proc{"", 12, 4294967295, 0, 0}},
	} {
		ln, err := ParseLine(c.line)
		if err != nil || ln.Kind != KindProcess || ln.Proc != c.want {
			t.Errorf("ParseLine(%q) = %+v, %v; want %+v", c.line, ln, err, c.want)
		}
		if ln.Proc.Owned() != (c.want.PID > 0) {
			t.Errorf("Owned(%q) wrong", c.line)
		}
		if got, want := string(AppendProc(nil, ln.Proc)), strings.TrimSuffix(c.line, "\r"); got != want {
			t.Errorf("AppendProc(%+v) = %q, want %q", ln.Proc, got, want)
		}
	}
}

func TestParseLineStructure(t *testing.T) {
	for line, kind := range map[string]Kind{
		"":                                  KindBlank,
		"\r":                                KindBlank,
		"Refreshing:":                       KindRefreshing,
		"Adding local address: ::1":         KindStartup,
		"Ethernet link detected":            KindStartup,
		"Linux Cooked Socket link detected": KindStartup,
		"PPP link detected":                 KindStartup,
		"No PPP or Ethernet link: 12":       KindStartup,
		"Unknown connection: 127.0.0.1:7101-127.0.0.1:52312":      KindUnknownConn,
		"Unknown connection: fd00::1:7101-fd00::2:52312":          KindUnknownConn,
		"# gohogs delay=1s view=0 run=20261128T041304.123Z seq=1": KindHeader,
		"# gohogs":      KindHeader,
		"# gohogsx":     KindComment,
		"# any comment": KindComment,
		"Waiting for first packet to arrive (see sourceforge.net bug 1019381)": KindDiagnostic,
	} {
		ln, err := ParseLine(line)
		if err != nil || ln.Kind != kind {
			t.Errorf("ParseLine(%q) = kind %v, %v; want %v", line, ln.Kind, err, kind)
		}
	}
}

func TestParseLineMalformed(t *testing.T) {
	for _, line := range []string{
		"garbage",
		"Refreshing",
		"iperf3/4096/0\t25.2",       // 2 fields
		"iperf3/4096/0\t1\t2\t3",    // 4 fields
		"iperf3/4096\t1\t2",         // no uid
		"iperf3\t1\t2",              // no pid/uid
		"iperf3/x/0\t1\t2",          // pid not a number
		"iperf3/-1/0\t1\t2",         // negative pid
		"iperf3/1/+0\t1\t2",         // signed uid
		"iperf3/1/4294967296\t1\t2", // uid too big
		"iperf3/1/0\t-1\t2",         // negative value
		"iperf3/1/0\t1\tnan",        // not finite
		"iperf3/1/0\tinf\t1",        // not finite
		"iperf3/1/0\t0x10\t1",       // Go-only syntax
		"iperf3/1/0\t1_000\t1",      // Go-only syntax
		"iperf3/1/0\t1e999\t1",      // overflows
		"iperf3/1/0\t \t1",          // blank value
		"iperf3/1/0\t\t1",           // empty value
	} {
		_, err := ParseLine(line)
		if !errors.Is(err, ErrMalformed) {
			t.Errorf("ParseLine(%q) error = %v; want ErrMalformed", line, err)
		}
	}
}

func TestPrintedLines(t *testing.T) {
	for dlt, want := range map[uint32]string{
		1: "Ethernet link detected", 9: "PPP link detected", 113: "Linux Cooked Socket link detected", 276: "No PPP or Ethernet link: 276",
	} {
		if got := LinkLine(dlt); got != want {
			t.Errorf("LinkLine(%d) = %q, want %q", dlt, got, want)
		}
	}
	lo4 := func(s string) netip.AddrPort { return netip.MustParseAddrPort(s) }
	for _, c := range []struct {
		local, remote netip.AddrPort
		want          string
	}{
		{lo4("127.0.0.1:44770"), lo4("127.0.0.1:7101"), "127.0.0.1:44770-127.0.0.1:7101"},
		{lo4("[::1]:7101"), lo4("[::1]:52312"), "::1:7101-::1:52312"},
		{lo4("[::ffff:10.0.0.1]:80"), lo4("[fe80::1%eth0]:5"), "::ffff:10.0.0.1:80-fe80::1%eth0:5"},
	} {
		if got := ConnName(c.local, c.remote); got != c.want {
			t.Errorf("ConnName(%v, %v) = %q, want %q", c.local, c.remote, got, c.want)
		}
		if got := string(AppendUnknownConn(nil, c.local, c.remote)); got != "Unknown connection: "+c.want {
			t.Errorf("AppendUnknownConn = %q", got)
		}
	}
	if got := string(AppendAddressLine([]byte("x"), "fd00::1")); got != "xAdding local address: fd00::1" {
		t.Errorf("AppendAddressLine = %q", got)
	}
	for _, l := range []string{LinkLine(1), LinkLine(7), RefreshLine, string(AppendAddressLine(nil, "::1")),
		string(AppendUnknownConn(nil, lo4("[::1]:1"), lo4("[::1]:2")))} {
		if ln, err := ParseLine(l); err != nil || ln.Kind == KindProcess || ln.Kind == KindBlank {
			t.Errorf("printed line %q parses as %v, %v", l, ln.Kind, err)
		}
	}
}

// TestSamples reads nethogs's own logs: every line is in the grammar, in
// order (start-up lines, then refresh blocks), and every process row
// printed back from what ParseLine read is the line nethogs wrote.
func TestSamples(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(sharedDir(t), "nethogs-samples", "*.txt"))
	if len(files) == 0 {
		t.Skip("no nethogs samples")
	}
	rows := 0
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		rows += checkLog(t, filepath.Base(f), string(data))
	}
	if rows < 100 {
		t.Errorf("%d process rows in %d samples; the samples hold more", rows, len(files))
	}
}

// checkLog fails t for any line of log that is not in the grammar or out of
// place, and for a process row that does not print back as it was. It
// returns the number of process rows.
func checkLog(t *testing.T, name, log string) (rows int) {
	t.Helper()
	sc := bufio.NewScanner(strings.NewReader(log))
	startup := true
	for n := 1; sc.Scan(); n++ {
		l := sc.Text()
		ln, err := ParseLine(l)
		switch {
		case err != nil:
			t.Errorf("%s:%d: %v: %q", name, n, err, l)
		case ln.Kind == KindStartup && startup:
		case ln.Kind == KindBlank:
			startup = false
		case ln.Kind == KindRefreshing || ln.Kind == KindUnknownConn:
		case ln.Kind == KindProcess:
			rows++
			if again := string(AppendProc(nil, ln.Proc)); again != l {
				t.Errorf("%s:%d: %q printed back as %q", name, n, l, again)
			}
		default:
			t.Errorf("%s:%d: %v line out of place: %q", name, n, ln.Kind, l)
		}
	}
	return rows
}

func sharedDir(t *testing.T) string {
	dir, _ := os.Getwd()
	for range 6 {
		if st, err := os.Stat(filepath.Join(dir, "shared", "nethogs-samples")); err == nil && st.IsDir() {
			return filepath.Join(dir, "shared")
		}
		dir = filepath.Dir(dir)
	}
	t.Skip("shared/nethogs-samples not found above the working directory")
	return ""
}

// Reading a process row allocates nothing: package report reads days of
// logs through ParseLine.
func TestParseLineAllocs(t *testing.T) {
	line := "sshd: root@pts/0/4002/0\t0.0117188\t5.34058e-05"
	var b []byte
	if n := testing.AllocsPerRun(100, func() {
		ln, err := ParseLine(line)
		if err != nil {
			t.Fatal(err)
		}
		b = AppendProc(b[:0], ln.Proc)
	}); n != 0 {
		t.Errorf("%v allocations to parse and print a row, want 0", n)
	}
}
