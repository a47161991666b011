package procmap

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gohogs/gohogs/internal/procfs"
)

// TestEventPIDs: the kernel's event sources are used only with a /proc of
// the initial pid namespace, and the process connector only from a process
// of the initial pid and user namespaces.
func TestEventPIDs(t *testing.T) {
	const initPID, initUser, other = "pid:[4026531836]", "user:[4026531837]", "4026532999"
	for _, tc := range []struct {
		name              string
		links             map[string]string // path under the root → link target
		tracepoints, conn string            // "" for no error, else a word of it
	}{
		{"the host's /proc", map[string]string{"1/ns/pid": initPID, "self/ns/pid": initPID, "self/ns/user": initUser}, "", ""},
		{"a container's own /proc", map[string]string{"1/ns/pid": "pid:[" + other + "]", "self/ns/pid": "pid:[" + other + "]", "self/ns/user": initUser},
			"namespace " + other, "namespace " + other},
		{"the host's /proc in a container (/host/proc)", map[string]string{"1/ns/pid": initPID, "self/ns/pid": "pid:[" + other + "]", "self/ns/user": initUser},
			"", "pid namespace is " + other},
		{"a user namespace", map[string]string{"1/ns/pid": initPID, "self/ns/pid": initPID, "self/ns/user": "user:[" + other + "]"},
			"", "user namespace is " + other},
		{"pid 1 unreadable, kthreadd in the initial one", map[string]string{"2/ns/pid": initPID, "self/ns/pid": initPID, "self/ns/user": initUser}, "", ""},
		{"pid 1 unreadable, this process in the initial one", map[string]string{"self/ns/pid": initPID, "self/ns/user": initUser}, "", ""},
		{"pid 1 unreadable, the others in another", map[string]string{"2/ns/pid": "pid:[" + other + "]", "self/ns/pid": "pid:[" + other + "]"},
			"cannot tell", "cannot tell"},
		{"nothing readable", map[string]string{}, "cannot tell", "cannot tell"},
		{"pid 1's link is no pid namespace", map[string]string{"1/ns/pid": "net:[4026531840]"}, "cannot tell", "cannot tell"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			for p, target := range tc.links {
				must(t, os.MkdirAll(filepath.Join(root, filepath.Dir(p)), 0o755))
				must(t, os.Symlink(target, filepath.Join(root, p)))
			}
			proc, err := procfs.NewFS(root)
			must(t, err)
			tp, pc := eventPIDs(proc)
			if _, ok := errors.AsType[*PIDNamespaceError](tp); (tp != nil) != ok {
				t.Errorf("tracepoints: %v is no *PIDNamespaceError", tp)
			}
			for _, c := range []struct {
				what string
				err  error
				want string
			}{{"tracepoints", tp, tc.tracepoints}, {"connector", pc, tc.conn}} {
				if (c.err == nil) != (c.want == "") || (c.err != nil && !strings.Contains(c.err.Error(), c.want)) {
					t.Errorf("%s: %v, want %q", c.what, c.err, c.want)
				}
			}
		})
	}
	if isProcFS("testdata/proc1") || !isProcFS("/proc") {
		t.Errorf("isProcFS: fixture %v, /proc %v", isProcFS("testdata/proc1"), isProcFS("/proc"))
	}
}

// TestFixtureNoEvents: a fixture tree runs no event source and says
// nothing about it (as before: it is no proc file system).
func TestFixtureNoEvents(t *testing.T) {
	r := fixture(t, "testdata/proc1", Options{})
	if st := r.Stats(); st.ConnEventsErr != nil || st.ProcEventsErr != nil || r.conns != nil || r.events != nil {
		t.Errorf("fixture: conn %v proc %v", st.ConnEventsErr, st.ProcEventsErr)
	}
}

// TestPIDNamespace runs TestInPIDNamespace in a pid namespace of its own
// with its own /proc (unshare --pid --fork --mount-proc), as gohogs in a
// container sees the host: the event sources are off, and say why.
func TestPIDNamespace(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	if _, err := exec.LookPath("unshare"); err != nil {
		t.Skip("needs unshare (util-linux)")
	}
	self, err := os.Executable()
	must(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "unshare", "--pid", "--fork", "--mount-proc", self, "-test.run", "^TestInPIDNamespace$", "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), "GOHOGS_IN_PIDNS=1")
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS: TestInPIDNamespace") {
		t.Fatalf("in a pid namespace: %v\n%s", err, out)
	}
	t.Logf("%s", out)
}

// TestInPIDNamespace is TestPIDNamespace's inside: this process's own
// loopback connection is credited to its pid as this /proc shows it (1 or
// 2), the connect events and the process connector are off, and their
// errors say why.
func TestInPIDNamespace(t *testing.T) {
	if os.Getenv("GOHOGS_IN_PIDNS") == "" {
		t.Skip("run by TestPIDNamespace")
	}
	r, err := New(Options{MountTracefs: true})
	must(t, err)
	defer r.Close()
	st := r.Stats()
	if st.ConnEventsErr == nil || !strings.Contains(st.ConnEventsErr.Error(), "not those of the initial one") || r.conns != nil {
		t.Errorf("connect events: %v", st.ConnEventsErr)
	}
	if st.ProcEventsErr == nil || !strings.Contains(st.ProcEventsErr.Error(), "process connector") || r.events != nil {
		t.Errorf("process connector: %v", st.ProcEventsErr)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	defer ln.Close()
	c, err := net.Dial("tcp", ln.Addr().String())
	must(t, err)
	defer c.Close()
	local := netip.MustParseAddrPort(c.LocalAddr().String())
	o, err := r.Resolve(Flow{Proto: 6, Local: local, Remote: netip.MustParseAddrPort(ln.Addr().String())})
	if err != nil || o.Process == nil || o.Process.PID != os.Getpid() {
		t.Fatalf("own connection: %+v %v; want pid %d", o, err, os.Getpid())
	}
	t.Logf("pid %d in this namespace; connect events: %v; process connector: %v", os.Getpid(), st.ConnEventsErr, st.ProcEventsErr)
}
