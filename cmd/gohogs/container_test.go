package main

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gohogs/gohogs/internal/netnstest"
	"github.com/gohogs/gohogs/internal/podmantest"
)

// TestJSONContainer: a real podman container (runc, joined to a network
// namespace of the test's own) uploads 2 MB to a sink behind a veth;
// gohogs watching the veth credits the bytes to the container's process
// (the interface's tx within 1%), and its JSON rows say the cgroup,
// runtime "podman", the container's id and, with podman's API service
// running (found through $XDG_RUNTIME_DIR/podman/podman.sock), its name;
// without the service, no name. Its --metrics-container exporter counts
// them under the container's name (its short id without the service).
func TestJSONContainer(t *testing.T) {
	netnstest.Skip(t)
	pm := podmantest.New(t)
	img := pm.Image(t, nil)
	for _, named := range []bool{true, false} {
		t.Run(map[bool]string{true: "named", false: "no-api"}[named], func(t *testing.T) {
			p, s := pairWithSink(t, "tcp", "4")
			if named {
				t.Setenv("XDG_RUNTIME_DIR", filepath.Dir(filepath.Dir(pm.Service(t))))
			} else {
				t.Setenv("XDG_RUNTIME_DIR", t.TempDir())
			}
			run := startGohogs(t, p.NSA, "--json", "-d", "0.5", "--duration", "10s", "--listen", "9102", "--metrics-container", p.IfA)
			run.waitStdout(t, "\n") // the first refresh
			host, port, _ := net.SplitHostPort(s.addr)
			const payload = 2_000_000
			script := "B=/bin/busybox; for i in $($B seq 20); do $B head -c 100000 /dev/zero; $B sleep 0.05; done | $B nc " +
				host + " " + port + "; exec $B sleep 60"
			var c podmantest.Container
			before, after := counted(t, p.NSA, p.IfA, func() {
				c = pm.Run(t, img, []string{"--network", "ns:/run/netns/" + p.NSA}, "/bin/busybox", "sh", "-c", script)
				select {
				case n := <-s.got:
					if n != payload {
						t.Fatalf("the sink got %d bytes, want %d", n, payload)
					}
				case <-time.After(30 * time.Second):
					t.Fatalf("the container's upload did not end in 30 s: %s", pm.Logs(c.Name))
				}
			})
			tx := after.TxBytes - before.TxBytes
			mfs := scrapeRefreshed(t, nsClient(p.NSA), "http://127.0.0.1:9102/metrics", 2)
			label := map[bool]string{true: c.Name, false: c.ID[:12]}[named]
			var metered float64
			for _, l := range []string{c.Name, c.ID[:12]} {
				if v, ok := value(mfs, "gohogs_process_sent_bytes_total", map[string]string{"container": l, "unit": ""}); ok {
					metered += v
				}
			}
			if v, ok := value(mfs, "gohogs_process_sent_bytes_total", map[string]string{"container": label}); !ok || v == 0 || !within(metered, float64(tx), 0.01) {
				t.Errorf("exporter: container %q counted %v (%v); the container's series %v, the interface tx %d (±1%%)", label, v, ok, metered, tx)
			}
			refs := parseJSONLines(t, run.wait(t, 20*time.Second))
			var sent, unknown uint64
			rows, lastNamed := 0, ""
			for _, r := range refs {
				for _, row := range r.Rows {
					if row.Kind == "unknown_tcp" {
						unknown += row.Sent + row.Recv
					}
					if row.Container == nil || row.Container.ID != c.ID {
						continue
					}
					rows++
					sent += row.Sent
					if row.Kind != "process" || row.PID == 0 || row.Container.Runtime != "podman" ||
						!strings.Contains(row.Cgroup, "libpod-"+c.ID) || !strings.Contains(strings.Join(row.Cmdline, " "), " nc "+host) {
						t.Errorf("refresh %d: container row %+v (container %+v)", r.Seq, row, *row.Container)
					}
					if n := row.Container.Name; n != "" && n != c.Name {
						t.Errorf("refresh %d: container named %q, want %q", r.Seq, n, c.Name)
					} else if row.Sent > 0 {
						lastNamed = n
					}
				}
			}
			t.Logf("container %s (%.12s): %d rows, sent %d; interface tx %d; unknown %d; last name %q", c.Name, c.ID, rows, sent, tx, unknown, lastNamed)
			if rows == 0 {
				t.Fatalf("no JSON row of container %.12s in %d refreshes", c.ID, len(refs))
			}
			if !within(float64(sent), float64(tx), 0.01) {
				t.Errorf("the container's rows sent %d, the interface tx %d (±1%%)", sent, tx)
			}
			if want := map[bool]string{true: c.Name, false: ""}[named]; lastNamed != want {
				t.Errorf("the container's name in its last row with bytes: %q, want %q", lastNamed, want)
			}
		})
	}
}

// TestInContainer runs the gohogs binary (static, copied into a busybox
// image) inside a real podman container, privileged, in a network
// namespace of the test's, while a client on the host uploads 1 MB
// through the watched veth. With the container's own pid namespace and
// /proc, the client is no process row (its pid there would be another
// process, or none) and gohogs says why on stderr; with --pid host, or
// with the host's /proc given as -v /proc:/host/proc and --proc
// /host/proc, it is a row under its own pid, with its bytes.
func TestInContainer(t *testing.T) {
	netnstest.Skip(t)
	pm := podmantest.New(t)
	static := filepath.Join(t.TempDir(), "gohogs")
	build := exec.Command("go", "build", "-o", static, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building a static gohogs: %v\n%s", err, out)
	}
	img := pm.Image(t, map[string]string{"gohogs": static})
	self, _ := os.Executable()
	for _, tc := range []struct {
		name    string
		opts    []string // podman run options
		args    []string // gohogs's
		visible bool     // the host client is seen
	}{
		{"own-pid-namespace", nil, nil, false},
		{"pid-host", []string{"--pid", "host"}, nil, true},
		{"host-proc", []string{"-v", "/proc:/host/proc"}, []string{"--proc", "/host/proc"}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, s := pairWithSink(t, "tcp", "4")
			opts := append([]string{"--privileged", "--network", "ns:/run/netns/" + p.NSA}, tc.opts...)
			args := append(append([]string{"/gohogs", "--json", "-d", "0.5", "--duration", "6s"}, tc.args...), p.IfA)
			c := pm.Run(t, img, opts, args...)
			if !poll(20*time.Second, func() bool { return strings.Contains(pm.Logs(c.Name), "\"seq\":1,") }) {
				t.Fatalf("no first refresh from gohogs in the container in 20 s: %s", pm.Logs(c.Name))
			}
			gen := runTraffic(t, p.NSA, "tcp", s.addr, 1_000_000, 1_000_000)
			if code, err := pm.Wait(c.Name); err != nil || code != 0 {
				t.Fatalf("gohogs in the container: exit %d %v: %s", code, err, pm.Logs(c.Name))
			}
			logs := pm.Logs(c.Name)
			var lines []string
			for _, l := range strings.Split(logs, "\n") {
				if strings.HasPrefix(l, "{") {
					lines = append(lines, l)
				}
			}
			refs := parseJSONLines(t, strings.Join(lines, "\n"))
			want := map[int]uint64{}
			if tc.visible {
				want[gen.Process.Pid] = 1_000_000
			}
			pidless := checkPIDs(t, refs, want, self)
			warned := strings.Contains(logs, "not those of the initial one")
			t.Logf("client pid %d; warned %v", gen.Process.Pid, warned)
			if !tc.visible && (pidless < 1_000_000 || !warned) {
				t.Errorf("%d bytes without a pid, want the client's 1000000 and more; warned %v: %s", pidless, warned, logs)
			}
			if tc.visible && warned {
				t.Errorf("warned: %s", logs)
			}
		})
	}
}
