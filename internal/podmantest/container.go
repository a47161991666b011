package podmantest

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strconv"
	"testing"
	"time"
)

// Container is a running container.
type Container struct {
	Name string
	ID   string // 64 hex digits
	PID  int    // its first process, in the host's pid namespace
}

// Start starts a detached container of image running cmd, with podman run
// options opts before the image (--network ..., -v ...), and returns it
// once it runs. Remove (or RemoveContainer) removes it; on an error it is
// removed already.
func (p *Podman) Start(image string, opts []string, cmd ...string) (Container, error) {
	name := p.newContainer(image)
	args := append([]string{"run", "-d", "--runtime", "runc", "--name", name}, opts...)
	args = append(append(args, image), cmd...)
	id, err := p.run(args...)
	if err != nil {
		return Container{}, errors.Join(err, p.RemoveContainer(name))
	}
	pid, err := p.Inspect(name, "{{.State.Pid}}")
	if err != nil {
		return Container{}, errors.Join(err, p.RemoveContainer(name))
	}
	n, err := strconv.Atoi(pid)
	if err != nil || n <= 0 {
		return Container{}, errors.Join(fmt.Errorf("podman inspect %s: pid %q", name, pid), p.RemoveContainer(name))
	}
	return Container{Name: name, ID: id, PID: n}, nil
}

// Run is Start for test t: the container is removed with t.Cleanup.
func (p *Podman) Run(t testing.TB, image string, opts []string, cmd ...string) Container {
	t.Helper()
	c, err := p.Start(image, opts, cmd...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := p.RemoveContainer(c.Name); err != nil {
			t.Errorf("podmantest: %v", err)
		}
	})
	return c
}

// Interactive returns the command that runs cmd in a new container of
// image, with stdin open, on podman's default bridge network (NAT),
// removed when it exits, and the container's name. The caller starts it;
// Remove (or RemoveContainer) removes the container if it does not exit.
func (p *Podman) Interactive(image string, cmd ...string) (string, *exec.Cmd) {
	name := p.newContainer(image)
	args := append([]string{"run", "-i", "--rm", "--runtime", "runc", "--name", name, image}, cmd...)
	return name, p.Command(context.Background(), args...)
}

// RemoveContainer removes container name if it is still there.
func (p *Podman) RemoveContainer(name string) error {
	if _, err := p.run("rm", "-f", "--ignore", "-t", "0", name); err != nil {
		return err
	}
	p.mu.Lock()
	delete(p.containers, name)
	p.mu.Unlock()
	return nil
}

// newContainer names a container of image and remembers it, to be removed.
func (p *Podman) newContainer(image string) string {
	name := Unique(p.prefix)
	p.mu.Lock()
	p.containers[name] = image
	p.mu.Unlock()
	return name
}

// Inspect returns a field of container name (a Go template, as podman
// inspect --format takes).
func (p *Podman) Inspect(name, format string) (string, error) {
	return p.run("inspect", "--format", format, name)
}

// Wait waits (2 minutes at most) for the container to exit and returns
// its exit status.
func (p *Podman) Wait(name string) (int, error) {
	out, err := p.run("wait", name)
	if err != nil {
		return -1, err
	}
	return strconv.Atoi(out)
}

// Logs returns what the container printed so far, on its stdout and its
// stderr.
func (p *Podman) Logs(name string) string {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := p.Command(ctx, "logs", name).CombinedOutput()
	if err != nil {
		return fmt.Sprintf("podman logs %s: %v: %s", name, err, out)
	}
	return string(out)
}
