package tracefs

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"

	"github.com/gohogs/gohogs/internal/procfs"
)

// liveTracefs returns the host's tracefs, or skips.
func liveTracefs(t *testing.T) (string, procfs.FS) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root (tracefs instances)")
	}
	root, err := Find("")
	if err != nil {
		t.Skip(err)
	}
	proc, err := procfs.NewFS("/proc")
	if err != nil {
		t.Skip(err)
	}
	return root, proc
}

// testPrefix is an instance prefix of this test run alone.
func testPrefix() string { return fmt.Sprintf("gohogstest%d-", os.Getpid()) }

func TestOwnerName(t *testing.T) {
	o := Owner{PIDNS: 4026531836, TimeNS: 4026531834, PID: 4869, Start: 381021}
	if got, ok := parseOwner(o.name() + "-3"); !ok || got != o {
		t.Fatalf("parseOwner(%q) = %+v %v", o.name()+"-3", got, ok)
	}
	for _, bad := range []string{"", "4869-0", "1-2-3-4", "1-2-3-4-5-6", "1-2-x-4-5", "1-2-0-4-5", "1-2--4-5", "1-2-3-4-"} {
		if got, ok := parseOwner(bad); ok {
			t.Errorf("parseOwner(%q) = %+v", bad, got)
		}
	}
}

func TestInstance(t *testing.T) {
	root, proc := liveTracefs(t)
	self, err := Self(proc)
	if err != nil {
		t.Fatal(err)
	}
	if self.PID != os.Getpid() || self.PIDNS == 0 || self.Start == 0 {
		t.Fatalf("Self = %+v", self)
	}
	a, err := NewInstance(root, testPrefix(), self)
	if err != nil {
		t.Fatal(err)
	}
	b, err := NewInstance(root, testPrefix(), self)
	if err != nil {
		a.Remove()
		t.Fatal(err)
	}
	if filepath.Base(a.Dir()) != testPrefix()+self.name()+"-0" || filepath.Base(b.Dir()) != testPrefix()+self.name()+"-1" {
		t.Fatalf("instances %s and %s", a.Dir(), b.Dir())
	}
	if err := b.Remove(); err != nil {
		t.Fatal(err)
	}
	if err := a.Write("buffer_size_kb", "64"); err != nil {
		t.Fatal(err)
	}
	if err := a.Write("nothing/here", "1"); err == nil {
		t.Fatal("writing a file that does not exist: no error")
	}
	pipe, err := a.OpenPipe()
	if err != nil {
		t.Fatal(err)
	}
	pipe.Close()
	if err := a.Remove(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(a.Dir()); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("%s still there: %v", a.Dir(), err)
	}
}

// TestRemoveStale: only the instances whose owner is provably gone are
// removed.
func TestRemoveStale(t *testing.T) {
	root, proc := liveTracefs(t)
	self, err := Self(proc)
	if err != nil {
		t.Fatal(err)
	}
	// A process of this namespace that exited.
	cmd := exec.Command("sleep", "60")
	if err := cmd.Start(); err != nil {
		t.Skip(err)
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", cmd.Process.Pid))
	if err != nil {
		t.Fatal(err)
	}
	st, err := procfs.ParseStat(b)
	if err != nil {
		t.Fatal(err)
	}
	cmd.Process.Kill()
	cmd.Wait()
	dead := Owner{PIDNS: self.PIDNS, TimeNS: self.TimeNS, PID: cmd.Process.Pid, Start: st.StartTime}
	reused := self
	reused.Start-- // this pid, an earlier process
	otherNS := dead
	otherNS.PIDNS++
	otherTime := reused
	otherTime.TimeNS++

	prefix := testPrefix()
	mk := func(name string) string {
		t.Helper()
		dir := filepath.Join(root, "instances", name)
		if err := os.Mkdir(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { remove(dir) })
		return name
	}
	gone := []string{mk(prefix + dead.name() + "-0"), mk(prefix + reused.name() + "-0")}
	kept := []string{
		mk(prefix + self.name() + "-0"),                 // alive: this process
		mk(prefix + otherNS.name() + "-0"),              // another pid namespace
		mk(prefix + otherTime.name() + "-0"),            // start time in another time namespace
		mk(prefix + fmt.Sprint(cmd.Process.Pid) + "-0"), // an older name that proves nothing
		mk("x" + prefix + dead.name() + "-0"),           // not ours
	}
	// From a proc that is not this pid namespace's, nothing is judged.
	fake := t.TempDir()
	if err := os.Symlink("1", filepath.Join(fake, "self")); err != nil {
		t.Fatal(err)
	}
	fakeProc, err := procfs.NewFS(fake)
	if err != nil {
		t.Fatal(err)
	}
	if removed, err := RemoveStale(root, prefix, fakeProc); err == nil || len(removed) != 0 {
		t.Fatalf("with another namespace's proc: removed %q, %v", removed, err)
	}

	removed, err := RemoveStale(root, prefix, proc)
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(removed)
	slices.Sort(gone)
	if !slices.Equal(removed, gone) {
		t.Fatalf("removed %q, want %q", removed, gone)
	}
	for _, n := range gone {
		if _, err := os.Stat(filepath.Join(root, "instances", n)); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s still there (%v)", n, err)
		}
	}
	for _, n := range kept {
		if _, err := os.Stat(filepath.Join(root, "instances", n)); err != nil {
			t.Errorf("%s removed: %v", n, err)
		}
	}
}
