package podmantest

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestRemoveRemovesAll: an image with a file of the caller's, /bin/sh and
// a writable /tmp runs a container that uses all three; Remove then
// deletes the container still running, the image and the files, and
// podman knows neither any more.
func TestRemoveRemovesAll(t *testing.T) {
	if err := Missing(); err != nil {
		t.Skip(err)
	}
	p, err := Create("gohogs-test-")
	if err != nil {
		t.Fatal(err)
	}
	removed := false
	t.Cleanup(func() {
		if !removed {
			_ = p.Remove()
		}
	})
	img, err := p.CreateImage(map[string]string{"/etc/marker": "podmantest.go"})
	if err != nil {
		t.Fatal(err)
	}
	c, err := p.Start(img, nil, "/bin/sh", "-c", "busybox head -c 9 /etc/marker > /tmp/m && busybox cat /tmp/m && echo && exec busybox sleep 60")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(c.Name, "gohogs-test-") || len(c.ID) != 64 || c.PID <= 0 {
		t.Errorf("container %+v", c)
	}
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(p.Logs(c.Name), "// Packag") {
		if time.Now().After(deadline) {
			t.Fatalf("the container did not print the marker's start in 20 s: %q", p.Logs(c.Name))
		}
		time.Sleep(50 * time.Millisecond) // polling the logs, bounded above
	}
	removed = true
	if err := p.Remove(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(p.dir); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("%s after Remove: %v", p.dir, err)
	}
	// podman ... exists: status 0 there, 1 not there, other an error.
	for _, what := range [][]string{{"container", "exists", c.Name}, {"image", "exists", img}} {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		err := exec.CommandContext(ctx, "podman", what...).Run()
		cancel()
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
			t.Errorf("podman %s after Remove: %v, want status 1 (not there)", strings.Join(what, " "), err)
		}
	}
}
