// Package podmantest runs real podman containers for tests and for the
// bench suite: images imported from a tar of a static busybox (no
// registry), containers run with runc, and podman's API service on a
// socket of the caller's own.
//
// A program that is not a test (the bench suite) uses Create and calls
// Remove itself; Remove deletes every container and image the Podman made
// that is still there, and its files. Tests use New, Image, Run and
// Service, which remove what they made with t.Cleanup, even when the test
// fails, and also when the test binary is interrupted (as internal/netnstest
// does for its namespaces). Every image and container gets a name unique to
// the process and the call (Unique).
//
// Facts of the machines it runs on: Debian's podman imports a tar of a
// directory as an image; its default runtime crun refuses a hybrid cgroup
// layout, so containers run with --runtime runc; its default ulimits fail,
// so it is given a containers.conf with default_ulimits = [].
package podmantest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gohogs/gohogs/internal/netnstest"
)

var counter atomic.Uint32

// Unique returns prefix, the process id and a counter: a name no other
// process and no other call uses.
func Unique(prefix string) string {
	return fmt.Sprintf("%s%xx%x", prefix, os.Getpid(), counter.Add(1))
}

// Podman is podman with a configuration of the caller's own, and the
// images and containers made through it.
type Podman struct {
	prefix string // of every name it gives
	dir    string // its files: containers.conf, image tars
	conf   string

	mu         sync.Mutex
	images     map[string]bool   // made and not removed yet
	containers map[string]string // made and not removed yet → its image
}

// Missing says what is missing to run containers (root, podman, runc, a
// static busybox), or nil.
func Missing() error {
	if os.Geteuid() != 0 {
		return errors.New("needs root")
	}
	for _, c := range []string{"podman", "runc"} {
		if _, err := exec.LookPath(c); err != nil {
			return fmt.Errorf("needs %s (apt-get install podman runc)", c)
		}
	}
	_, err := StaticBusybox()
	return err
}

// Create returns a Podman whose images and containers are named
// PREFIX-PID-N (Unique). The caller removes it, and all it made, with
// Remove.
func Create(prefix string) (*Podman, error) {
	dir, err := os.MkdirTemp("", "gohogs-podman")
	if err != nil {
		return nil, fmt.Errorf("podmantest: %w", err)
	}
	p := &Podman{prefix: prefix, dir: dir, conf: filepath.Join(dir, "containers.conf"),
		images: map[string]bool{}, containers: map[string]string{}}
	if err := os.WriteFile(p.conf, []byte("[containers]\ndefault_ulimits = []\n"), 0o644); err != nil {
		return nil, errors.Join(fmt.Errorf("podmantest: %w", err), p.Remove())
	}
	return p, nil
}

// New returns a Podman for test t, removed with everything it made when t
// ends, or skips t unless it runs as root with podman, runc and a static
// busybox installed.
func New(t testing.TB) *Podman {
	t.Helper()
	if err := Missing(); err != nil {
		t.Skip(err)
	}
	p, err := Create("gohogs-test-")
	if err != nil {
		t.Fatal(err)
	}
	netnstest.RemoveWhenDone(t, p)
	return p
}

// Remove deletes the containers, then the images, that p made and that
// are still there, and p's files.
func (p *Podman) Remove() error {
	var errs []error
	for _, name := range p.made("") {
		errs = append(errs, p.RemoveContainer(name))
	}
	p.mu.Lock()
	images := make([]string, 0, len(p.images))
	for name := range p.images {
		images = append(images, name)
	}
	p.mu.Unlock()
	for _, name := range images {
		errs = append(errs, p.RemoveImage(name))
	}
	return errors.Join(append(errs, os.RemoveAll(p.dir))...)
}

// made returns the containers p made of image ("": of any) that are not
// removed yet.
func (p *Podman) made(image string) []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var names []string
	for name, of := range p.containers {
		if image == "" || of == image {
			names = append(names, name)
		}
	}
	return names
}

// Command is podman with args, with p's configuration.
func (p *Podman) Command(ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, "podman", args...)
	cmd.Env = append(os.Environ(), "CONTAINERS_CONF="+p.conf)
	cmd.WaitDelay = 5 * time.Second
	return cmd
}

// run runs podman with args, bounded, and returns its stdout, trimmed.
func (p *Podman) run(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var stderr bytes.Buffer
	cmd := p.Command(ctx, args...)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("podman %s: %w: %s", strings.Join(args, " "), err, bytes.TrimSpace(stderr.Bytes()))
	}
	return strings.TrimSpace(string(out)), nil
}
