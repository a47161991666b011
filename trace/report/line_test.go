package report

import (
	"errors"
	"testing"
)

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
		"iperf3/4096/0\t25.2",            // 2 fields
		"iperf3/4096/0\t1\t2\t3",         // 4 fields
		"iperf3/4096\t1\t2",              // no uid
		"iperf3\t1\t2",                   // no pid/uid
		"iperf3/x/0\t1\t2",               // pid not a number
		"iperf3/-1/0\t1\t2",              // negative pid
		"iperf3/1/+0\t1\t2",              // signed uid
		"iperf3/1/4294967296\t1\t2",      // uid too big
		"iperf3/1/0\t-1\t2",              // negative value
		"iperf3/1/0\t1\tnan",             // not finite
		"iperf3/1/0\tinf\t1",             // not finite
		"iperf3/1/0\t0x10\t1",            // Go-only syntax
		"iperf3/1/0\t1_000\t1",           // Go-only syntax
		"iperf3/1/0\t1e999\t1",           // overflows
		"iperf3/1/0\t \t1",               // blank value
		"iperf3/1/0\t\t1",                // empty value
		"# gohogs delay=0s view=0",       // bad header
		"# gohogs delay=1s view=9 seq=1", // bad header
	} {
		_, err := ParseLine(line)
		if !errors.Is(err, ErrMalformed) {
			t.Errorf("ParseLine(%q) error = %v; want ErrMalformed", line, err)
		}
	}
}

func TestUnit(t *testing.T) {
	for view, want := range map[int]struct {
		unit float64
		cum  bool
	}{
		0: {1024, false}, 1: {1024, true}, 2: {1, true}, 3: {1 << 20, true}, 4: {1 << 20, false}, 5: {1 << 30, false}, 6: {0, false},
	} {
		u, c := Unit(view)
		if u != want.unit || c != want.cum {
			t.Errorf("Unit(%d) = %v, %v; want %v, %v", view, u, c, want.unit, want.cum)
		}
	}
}
