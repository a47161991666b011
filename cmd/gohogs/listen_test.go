package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/gohogs/gohogs/internal/netnstest"
)

// nsClient is an HTTP client whose connections are made inside ns, where
// gohogs's loopback listener is.
func nsClient(ns string) *http.Client { return nsClientTLS(ns, nil) }

// nsClientTLS is nsClient with the TLS configuration of https URLs.
func nsClientTLS(ns string, tc *tls.Config) *http.Client {
	return &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		DisableKeepAlives: true,
		TLSClientConfig:   tc,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			var c net.Conn
			err := netnstest.Do(ns, func() (err error) {
				var d net.Dialer
				c, err = d.DialContext(ctx, network, addr)
				return err
			})
			return c, err
		},
	}}
}

// scrape GETs url and parses the text exposition.
func scrape(c *http.Client, url string) (map[string]*dto.MetricFamily, error) {
	resp, err := c.Get(url)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, &url2Err{resp.Status}
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	return p.TextToMetricFamilies(resp.Body)
}

type url2Err struct{ status string }

func (e *url2Err) Error() string { return "scrape: " + e.status }

// scrapeWhenUp scrapes until the exporter answers (5 s at most).
func scrapeWhenUp(t *testing.T, c *http.Client, url string) map[string]*dto.MetricFamily {
	t.Helper()
	var mfs map[string]*dto.MetricFamily
	var err error
	if !poll(5*time.Second, func() bool { mfs, err = scrape(c, url); return err == nil }) {
		t.Fatalf("%s not answering after 5s: %v", url, err)
	}
	return mfs
}

// scrapeRefreshed scrapes url until gohogs_refreshes_total has grown by n
// since now (10 s at most), and returns the last scrape.
func scrapeRefreshed(t *testing.T, c *http.Client, url string, n float64) map[string]*dto.MetricFamily {
	t.Helper()
	mfs := scrapeWhenUp(t, c, url)
	first, _ := value(mfs, "gohogs_refreshes_total", nil)
	if !poll(10*time.Second, func() bool {
		mfs = scrapeWhenUp(t, c, url)
		v, _ := value(mfs, "gohogs_refreshes_total", nil)
		return v >= first+n
	}) {
		t.Fatalf("%s: refreshes_total did not grow by %v in 10 s", url, n)
	}
	return mfs
}

// value returns the value of family name's metric whose labels include
// want (0 if none), and whether one was found.
func value(mfs map[string]*dto.MetricFamily, name string, want map[string]string) (float64, bool) {
	mf := mfs[name]
	if mf == nil {
		return 0, false
	}
next:
	for _, m := range mf.GetMetric() {
		got := map[string]string{}
		for _, l := range m.GetLabel() {
			got[l.GetName()] = l.GetValue()
		}
		for k, v := range want {
			if got[k] != v {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue(), true
		case m.Gauge != nil:
			return m.Gauge.GetValue(), true
		case m.Untyped != nil:
			return m.Untyped.GetValue(), true
		}
	}
	return 0, false
}

// TestListenScrape: two gohogs watch the same veth, one headless with
// --listen alone, one with -t -v 2 and --listen --metrics-pid. While this
// test's generator sends 2 MB, scrapes over loopback (inside the namespace)
// see the generator's program counter grow; after it, the growth equals the
// frame bytes the kernel counted within 1%, in both exporters (the second
// one under the generator's pid), and the trace of the second agrees.
func TestListenScrape(t *testing.T) {
	netnstest.Skip(t)
	p, s := pairWithSink(t, "tcp", "4")
	headless := startGohogs(t, p.NSA, "-C", "-d", "0.5", "--listen", ":9100", p.IfA)
	both := startGohogs(t, p.NSA, "-t", "-v", "2", "-d", "0.5", "--listen", "9101", "--metrics-pid", p.IfA)
	c := nsClient(p.NSA)
	const urlA, urlB = "http://127.0.0.1:9100/metrics", "http://127.0.0.1:9101/metrics"
	scrapeWhenUp(t, c, urlB)
	self, _ := os.Executable()
	prog := map[string]string{"program": self, "user": "root"}
	v0, _ := value(scrapeWhenUp(t, c, urlA), "gohogs_process_sent_bytes_total", prog)
	r0, _ := value(scrapeWhenUp(t, c, urlA), "gohogs_process_received_bytes_total", prog)
	const payload = 2_000_000
	var gen *exec.Cmd
	var during []float64
	before, after := counted(t, p.NSA, p.IfA, func() {
		var genOut *bytes.Buffer
		gen, genOut = startTraffic(t, p.NSA, "tcp", s.addr, payload, 1_000_000)
		genDone := make(chan error, 1)
		go func() { genDone <- gen.Wait() }()
		// Scrape every 200 ms while the traffic flows (about 2 s).
		for wait := true; wait; {
			select {
			case err := <-genDone:
				if err != nil {
					t.Fatalf("generator: %v: %s", err, genOut)
				}
				wait = false
			case <-time.After(200 * time.Millisecond):
				if len(during) > 100 {
					t.Fatal("generator still running after 20s")
				}
				mid, err := scrape(c, urlA)
				if err != nil {
					t.Fatal(err)
				}
				v, _ := value(mid, "gohogs_process_sent_bytes_total", prog)
				during = append(during, v)
			}
		}
	})
	// Two refreshes after the traffic in each exporter: the second cuts
	// after the last frame.
	mfsA, mfsB := scrapeRefreshed(t, c, urlA, 2), scrapeRefreshed(t, c, urlB, 2)
	tx, rx := float64(after.TxBytes-before.TxBytes), float64(after.RxBytes-before.RxBytes)
	v1, _ := value(mfsA, "gohogs_process_sent_bytes_total", prog)
	r1, _ := value(mfsA, "gohogs_process_received_bytes_total", prog)
	pidLabels := map[string]string{"program": self, "user": "root", "pid": strconv.Itoa(gen.Process.Pid)}
	vb, okb := value(mfsB, "gohogs_process_sent_bytes_total", pidLabels)
	ua, _ := value(mfsA, "gohogs_unknown_bytes_total", nil)
	ub, _ := value(mfsB, "gohogs_unknown_bytes_total", nil)
	t.Logf("sent counter: %v before, %v during, %v after (growth %v); recv growth %v; interface tx %v rx %v; pid-labelled %v; unknown bytes %v and %v",
		v0, during, v1, v1-v0, r1-r0, tx, rx, vb, ua, ub)
	grew := 0
	for i, v := range during {
		if v < v0 || v > v1 || (i > 0 && v < during[i-1]) {
			t.Errorf("counter during the traffic %v, want growing from %v to %v", during, v0, v1)
			break
		}
		if v > v0 && v < v1 {
			grew++
		}
	}
	if grew == 0 {
		t.Errorf("no scrape saw the counter between %v and %v while the traffic flowed: %v", v0, v1, during)
	}
	if !within(v1-v0, tx, 0.01) || !within(r1-r0, rx, 0.01) {
		t.Errorf("counters grew by %v sent %v received, interface counted tx %v rx %v (±1%%)", v1-v0, r1-r0, tx, rx)
	}
	if v1-v0 < payload {
		t.Errorf("sent counter grew by %v, below the payload %d", v1-v0, payload)
	}
	if !okb || !within(vb, tx, 0.01) {
		t.Errorf("pid-labelled counter %v (found %v), interface tx %v", vb, okb, tx)
	}
	if _, ok := value(mfsA, "gohogs_process_sent_bytes_total", map[string]string{"pid": strconv.Itoa(gen.Process.Pid)}); ok {
		if mf := mfsA["gohogs_process_sent_bytes_total"]; len(mf.GetMetric()[0].GetLabel()) != 2 {
			t.Errorf("pid label without --metrics-pid: %v", mf)
		}
	}
	// Health: everything captured, nothing dropped.
	pk, _ := value(mfsA, "gohogs_packets_total", nil)
	ign, _ := value(mfsA, "gohogs_ignored_packets_total", nil)
	cp, _ := value(mfsA, "gohogs_capture_packets_total", map[string]string{"interface": p.IfA})
	cb, _ := value(mfsA, "gohogs_capture_bytes_total", map[string]string{"interface": p.IfA})
	drops, okd := value(mfsA, "gohogs_capture_kernel_drops_total", map[string]string{"interface": p.IfA})
	_, oku := value(mfsA, "gohogs_unknown_bytes_total", nil)
	_, okm := value(mfsA, "gohogs_resolver_misses_total", nil)
	frames := float64(after.TxPackets - before.TxPackets + after.RxPackets - before.RxPackets)
	// (The accounted packets leave out ARP and the like, counted as ignored.)
	if cp < frames || pk+ign > cp || pk+ign < 0.99*cp || cb < tx+rx || !okd || drops != 0 || !oku || !okm {
		t.Errorf("health: captured %v packets (≥ %v frames) = accounted %v + ignored %v, capture bytes %v (≥ %v), drops %v %v, unknown bytes %v, misses %v",
			cp, frames, pk, ign, cb, tx+rx, drops, okd, oku, okm)
	}
	// Only loopback: the veth address refuses.
	if err := netnstest.Do(p.NSA, func() error {
		cn, err := net.DialTimeout("tcp", net.JoinHostPort(p.AddrA4.String(), "9100"), time.Second)
		if err == nil {
			cn.Close()
			t.Errorf("the exporter answers on %s, want loopback only", p.AddrA4)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}

	// Headless prints nothing; the other printed its trace, which agrees.
	for _, r := range []*gohogsRun{headless, both} {
		r.cmd.Process.Signal(syscall.SIGTERM)
	}
	if out := headless.wait(t, 5*time.Second); out != "" {
		t.Errorf("headless --listen printed %q", out)
	}
	_, blocks := parseTrace(t, both.wait(t, 5*time.Second))
	var tsent float64
	for _, b := range blocks {
		for _, r := range b {
			if r.pid == gen.Process.Pid {
				tsent = r.sent
			}
		}
	}
	if !within(tsent, vb, 0.001) {
		t.Errorf("trace -v 2 says %v bytes sent, the exporter %v", tsent, vb)
	}
}

// TestListenBindError: a port already taken: one line on stderr, exit 1,
// before any capture.
func TestListenBindError(t *testing.T) {
	ns := netnstest.NewLoopback(t, "ghl")
	var ln net.Listener
	if err := netnstest.Do(ns, func() (err error) {
		ln, err = net.Listen("tcp", "127.0.0.1:9100")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	r := startGohogs(t, ns, "--listen", ":9100", "-a", "lo")
	select {
	case err := <-r.done:
		r.done <- err
		var ee *exec.ExitError
		if !errorsAs(err, &ee) || ee.ExitCode() != 1 {
			t.Errorf("exit: %v, want status 1", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("gohogs still running 10s after a bind error")
	}
	msg := r.stderr.String()
	if strings.Count(msg, "\n") != 1 || !strings.Contains(msg, "--listen 127.0.0.1:9100") || !strings.Contains(msg, "address already in use") {
		t.Errorf("stderr %q, want one line naming the address and the cause", msg)
	}
	if r.stdout.Len() != 0 {
		t.Errorf("stdout %q", r.stdout)
	}
}

func errorsAs(err error, target **exec.ExitError) bool {
	e, ok := err.(*exec.ExitError)
	if ok {
		*target = e
	}
	return ok
}

// TestListenAddr: a bare port binds loopback; an explicit host is kept.
func TestListenAddr(t *testing.T) {
	for in, want := range map[string]string{
		":9090": "127.0.0.1:9090", "9090": "127.0.0.1:9090", "0.0.0.0:9090": "0.0.0.0:9090",
		"[::]:9090": "[::]:9090", "[::1]:0": "[::1]:0", "localhost:9090": "localhost:9090",
		"": "", "abc": "", "1.2.3.4": "", "[::1]": "", "host:": "",
	} {
		got, err := listenAddr(in)
		if got != want || (err != nil) != (want == "") {
			t.Errorf("listenAddr(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

// TestExportFlags: what --json, --listen and --metrics-pid imply.
func TestExportFlags(t *testing.T) {
	for _, c := range []struct {
		args                       string
		trace, headless, json, pid bool
		listen                     string
	}{
		{"--listen :9090 eth0", true, true, false, false, "127.0.0.1:9090"},
		{"--listen=0.0.0.0:1 -t eth0", true, false, false, false, "0.0.0.0:1"},
		{"--listen 9 --json", true, false, true, false, "127.0.0.1:9"},
		{"--listen 9 --output f --metrics-pid", true, false, false, true, "127.0.0.1:9"},
		{"--json", true, false, true, false, ""},
		{"", false, false, false, false, ""},
	} {
		o, err := parseArgs(strings.Fields(c.args))
		if err != nil {
			t.Errorf("%q: %v", c.args, err)
			continue
		}
		if o.trace != c.trace || o.headless != c.headless || o.json != c.json || o.pidLabel != c.pid || o.listen != c.listen {
			t.Errorf("%q: trace %v headless %v json %v pid %v listen %q", c.args, o.trace, o.headless, o.json, o.pidLabel, o.listen)
		}
	}
	if o, err := parseArgs([]string{"--listen", "9", "--metrics-container"}); err != nil || !o.ctrLabel || o.pidLabel {
		t.Errorf("--metrics-container: %+v %v", o, err)
	}
	for _, bad := range []string{"--json=1", "--listen", "--listen=", "--listen x:y:z", "--metrics-pid=1", "--metrics-container=1"} {
		if _, err := parseArgs(strings.Fields(bad)); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
