package trace

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
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

// The grammar of nethogs's trace output, from the real samples.
var (
	reAddr    = regexp.MustCompile(`^Adding local address: [0-9a-f.:]+$`)
	reLink    = regexp.MustCompile(`^(Ethernet link detected|PPP link detected|Linux Cooked Socket link detected|No PPP or Ethernet link: [0-9]+)$`)
	reRow     = regexp.MustCompile(`^(.+)/([0-9]+)/([0-9]+)\t(-?[0-9.]+(e[-+][0-9]+)?)\t(-?[0-9.]+(e[-+][0-9]+)?)$`)
	reUnknown = regexp.MustCompile(`^Unknown connection: [0-9a-f.:]+:[0-9]+-[0-9a-f.:]+:[0-9]+$`)
)

// checkGrammar fails t for any line that nethogs would not print.
func checkGrammar(t *testing.T, name string, data []byte) {
	t.Helper()
	sc := bufio.NewScanner(bytes.NewReader(data))
	header := true
	for n := 1; sc.Scan(); n++ {
		l := sc.Text()
		switch {
		case header && (reAddr.MatchString(l) || reLink.MatchString(l)):
		case l == "":
			header = false
		case !header && (l == "Refreshing:" || reRow.MatchString(l) || reUnknown.MatchString(l)):
		default:
			t.Errorf("%s:%d: line outside nethogs's grammar: %q", name, n, l)
		}
	}
}

// parseNethogsRow reads a row as nethogs log parsers do: split on tabs, the
// name/pid/uid on the last two '/'.
func parseNethogsRow(l string) (name string, pid, uid int, sent, recv float64, ok bool) {
	f := strings.Split(l, "\t")
	if len(f) != 3 {
		return "", 0, 0, 0, 0, false
	}
	i := strings.LastIndexByte(f[0], '/')
	j := strings.LastIndexByte(f[0][:max(i, 0)], '/')
	if i < 0 || j < 0 {
		return "", 0, 0, 0, 0, false
	}
	var err1, err2, err3, err4 error
	pid, err1 = strconv.Atoi(f[0][j+1 : i])
	uid, err2 = strconv.Atoi(f[0][i+1:])
	sent, err3 = strconv.ParseFloat(f[1], 64)
	recv, err4 = strconv.ParseFloat(f[2], 64)
	return f[0][:j], pid, uid, sent, recv, err1 == nil && err2 == nil && err3 == nil && err4 == nil
}

func TestSamplesMatchGrammar(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(sharedDir(t), "nethogs-samples", "*.txt"))
	if len(files) == 0 {
		t.Skip("no nethogs samples")
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		checkGrammar(t, filepath.Base(f), data)
	}
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

func TestWriterOutputParsesBack(t *testing.T) {
	s := &Snapshot{Elapsed: 2 * time.Second, Rows: []Row{
		{Kind: KindUnknownTCP, Name: "unknown TCP"},
		{Kind: KindProcess, Name: "sshd: root@pts/0", PID: 4002, UID: 0, Sent: 2048, Recv: 10240, Args: ""},
		{Kind: KindProcess, Name: "/usr/bin/python3", PID: 77, UID: 1000, Sent: 1 << 30, Recv: 10240, Args: "-m http.server"},
		{Kind: KindSocket, Name: "127.0.0.1:44770-127.0.0.1:7101", Sent: 356},
		{Kind: KindUnknownUDP, Name: "unknown UDP"},
	}, UnknownConns: []string{"::1:7101-::1:52312"}}
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
	checkGrammar(t, "writer", buf.Bytes())
	sums := map[int]float64{}
	for _, l := range strings.Split(buf.String(), "\n") {
		if name, pid, _, sent, _, ok := parseNethogsRow(l); ok {
			sums[pid] += sent
			if pid == 4002 && name != "sshd: root@pts/0" {
				t.Errorf("name read back as %q", name)
			}
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
}

func TestViewModes(t *testing.T) {
	const b = 3 << 20
	for _, c := range []struct {
		m    ViewMode
		want float64
	}{
		{ViewKBps, b / 1024 / 2}, {ViewMBps, 1.5}, {ViewGBps, 1.5 / 1024},
		{ViewTotalKB, 3 * 1024 * 2}, {ViewTotalB, 2 * b}, {ViewTotalMB, 6},
	} {
		if got := c.m.Value(b, 2*b, 2*time.Second); got != c.want {
			t.Errorf("mode %d: %v, want %v", c.m, got, c.want)
		}
	}
}
