package netns

import (
	"errors"
	"os"
	"os/exec"
	"testing"

	"github.com/gohogs/gohogs/internal/netnstest"
)

func TestDoPathJoinsAndLeaves(t *testing.T) {
	netnstest.Skip(t)
	name := netnstest.UniqueName("gns")
	if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add: %v: %s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("ip", "netns", "del", name).Run() })
	want, err := Inode("/run/netns/" + name)
	if err != nil {
		t.Fatal(err)
	}
	self, err := Inode("/proc/thread-self/ns/net")
	if err != nil {
		t.Fatal(err)
	}
	if want == self {
		t.Fatal("the new namespace has the test's own inode")
	}
	var inside uint64
	sentinel := errors.New("fn's error")
	err = DoPath("/run/netns/"+name, func() error {
		inside, err = Inode("/proc/thread-self/ns/net")
		if err != nil {
			return err
		}
		return sentinel
	})
	if !errors.Is(err, sentinel) {
		t.Fatalf("DoPath returned %v, want fn's error", err)
	}
	if inside != want {
		t.Fatalf("inside fn the thread's namespace is %d, want %d", inside, want)
	}
	// Every thread of the process is back (or gone): none is left in the
	// namespace.
	ents, err := os.ReadDir("/proc/self/task")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		ino, err := Inode("/proc/self/task/" + e.Name() + "/ns/net")
		if err == nil && ino == want {
			t.Fatalf("thread %s is still in the namespace", e.Name())
		}
	}
}

func TestDoPathMissing(t *testing.T) {
	err := DoPath("/nonexistent/netns", func() error { t.Fatal("fn ran"); return nil })
	if !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("got %v, want a not-exist error", err)
	}
}
