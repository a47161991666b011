package procmap

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gohogs/gohogs/internal/procfs"
	"github.com/gohogs/gohogs/internal/tracefs"
)

// threadNices returns the nice value of every thread of this process.
func threadNices(t *testing.T) map[int]int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/task")
	if err != nil {
		t.Fatal(err)
	}
	nices := map[int]int{}
	for _, e := range ents {
		tid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc/self/task", e.Name(), "stat"))
		if err != nil {
			continue // the thread ended
		}
		st, err := procfs.ParseStat(b)
		if err != nil {
			t.Fatal(err)
		}
		nices[tid] = st.Nice
	}
	return nices
}

// reniced returns the threads not at nice 0.
func reniced(t *testing.T) map[int]int {
	t.Helper()
	m := threadNices(t)
	for tid, n := range m {
		if n == 0 {
			delete(m, tid)
		}
	}
	return m
}

// settled waits (at most 5 s) until no thread of this process is reniced:
// the readers of earlier tests' Resolvers end with them, and their threads
// soon after.
func settled(t *testing.T) {
	t.Helper()
	if !eventually(t, 5*time.Second, func() bool { return len(reniced(t)) == 0 }) {
		t.Fatalf("threads still reniced before the test: %v", reniced(t))
	}
}

// tracingMounts lists the tracefs and debugfs mounts of this process: the
// only ones a Resolver could make (other tests on the host add network
// namespace mounts meanwhile; the child of TestNoTracefs compares all of
// its mounts, in a mount namespace of its own).
func tracingMounts(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	var ms []string
	for _, l := range strings.Split(string(b), "\n") {
		if strings.Contains(l, " - tracefs ") || strings.Contains(l, " - debugfs ") {
			ms = append(ms, l)
		}
	}
	return ms
}

// TestDefaultOptionsChangeNothing: a Resolver with default Options, its
// process connector running and having handled events, leaves every thread
// of the process at nice 0 and mounts nothing.
func TestDefaultOptionsChangeNothing(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	settled(t)
	before := tracingMounts(t)
	r := newLive(t, Options{})
	if r.events == nil {
		t.Skipf("no process connector here: %v", r.Stats().ProcEventsErr)
	}
	c := startChild(t, "gohogs nice child", "udp", -1)
	if !eventually(t, 3*time.Second, func() bool {
		r.mu.Lock()
		defer r.mu.Unlock()
		return slices.Contains(r.fresh, c.cmd.Process.Pid)
	}) {
		t.Fatalf("the connector did not report child %d in 3 s", c.cmd.Process.Pid)
	}
	if n := reniced(t); len(n) != 0 {
		t.Errorf("threads reniced (tid: nice): %v; the connector's is %d", n, r.events.ThreadID())
	}
	if after := tracingMounts(t); !slices.Equal(before, after) {
		t.Errorf("mounts changed:\n%q\nthen\n%q", before, after)
	}
	c.stop(t)
}

// TestRaisePriority: with RaisePriority, the process connector's thread,
// and it alone, runs at nice -10.
func TestRaisePriority(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	settled(t)
	r := newLive(t, Options{RaisePriority: true})
	if r.events == nil {
		t.Skipf("no process connector here: %v", r.Stats().ProcEventsErr)
	}
	tid := r.events.ThreadID()
	if n := reniced(t); len(n) != 1 || n[tid] != -10 {
		t.Fatalf("threads reniced (tid: nice): %v; want the connector's, %d, at -10", n, tid)
	}
}

// TestNoTracefs: in a mount namespace of its own without tracefs, a child
// runs a Resolver with default Options (no connect events, their error in
// Stats, nothing mounted, its own socket resolved), then one with
// MountTracefs (mounted, connect events running). The namespace ends with
// the child.
func TestNoTracefs(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	if _, err := exec.LookPath("unshare"); err != nil {
		t.Skip("needs unshare (util-linux)")
	}
	if _, err := tracefs.Find(""); err != nil {
		t.Skipf("no tracefs on the host to compare with: %v", err)
	}
	c := startChild(t, "gohogs no tracefs", "notracefs", -1, "unshare", "--mount", "--propagation", "private")
	t.Logf("child: %s", strings.Join(c.fields, " "))
	c.stop(t)
}

// TestStaleInstances: an instance left by a process of this pid namespace
// that is gone is kept by default, and removed with RemoveStaleInstances;
// the Resolver's own is removed by Close.
func TestStaleInstances(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	root, err := tracefs.Find("")
	if err != nil {
		t.Skip(err)
	}
	proc := hostProc(t)
	self, err := tracefs.Self(proc)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("sleep", "60")
	if err := cmd.Start(); err != nil {
		t.Skip(err)
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(cmd.Process.Pid) + "/stat")
	cmd.Process.Kill()
	cmd.Wait()
	if err != nil {
		t.Fatal(err)
	}
	st, err := procfs.ParseStat(b)
	if err != nil {
		t.Fatal(err)
	}
	dead := tracefs.Owner{PIDNS: self.PIDNS, TimeNS: self.TimeNS, PID: cmd.Process.Pid, Start: st.StartTime}
	in, err := tracefs.NewInstance(root, instPrefix, dead)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { in.Remove() })
	r := newLive(t, Options{})
	if r.conns == nil {
		t.Skipf("no connect events here: %v", r.Stats().ConnEventsErr)
	}
	own := r.conns.inst.Dir()
	if _, err := os.Stat(in.Dir()); err != nil {
		t.Fatalf("default Options removed %s: %v", in.Dir(), err)
	}
	r2 := newLive(t, Options{RemoveStaleInstances: true})
	if _, err := os.Stat(in.Dir()); !os.IsNotExist(err) {
		t.Fatalf("RemoveStaleInstances kept %s (%v)", in.Dir(), err)
	}
	if _, err := os.Stat(own); err != nil {
		t.Fatalf("RemoveStaleInstances removed a live Resolver's %s: %v", own, err)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(own); !os.IsNotExist(err) {
		t.Fatalf("Close left %s (%v)", own, err)
	}
	if err := r2.Close(); err != nil {
		t.Fatal(err)
	}
}
