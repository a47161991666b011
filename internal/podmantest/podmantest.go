// Package podmantest runs real podman containers for tests: an image
// imported from a directory holding a static busybox (no registry), the
// containers run with runc, podman's API service on a socket of the test's
// own; all of it removed with t.Cleanup, even when the test fails.
//
// Facts of the machines it runs on: Debian's podman imports a tar of a
// directory as an image; its default runtime crun refuses a hybrid cgroup
// layout, so containers run with --runtime runc; its default ulimits fail,
// so it is given a containers.conf with default_ulimits = []. Every image
// and container has a name unique to the process and the call.
package podmantest

import (
	"archive/tar"
	"bytes"
	"context"
	"debug/elf"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

var counter atomic.Uint32

// Unique returns prefix, the process id and a counter: a name no other
// process and no other call uses.
func Unique(prefix string) string {
	return fmt.Sprintf("%s%xx%x", prefix, os.Getpid(), counter.Add(1))
}

// Podman is podman with a configuration of the test's own.
type Podman struct {
	dir  string // the test's temporary directory: containers.conf
	conf string
}

// New returns a Podman, or skips t unless it runs as root with podman,
// runc and a static busybox installed.
func New(t testing.TB) *Podman {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	for _, c := range []string{"podman", "runc"} {
		if _, err := exec.LookPath(c); err != nil {
			t.Skipf("needs %s (apt-get install podman runc)", c)
		}
	}
	if _, err := StaticBusybox(); err != nil {
		t.Skip(err)
	}
	dir := t.TempDir()
	conf := filepath.Join(dir, "containers.conf")
	if err := os.WriteFile(conf, []byte("[containers]\ndefault_ulimits = []\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return &Podman{dir: dir, conf: conf}
}

// StaticBusybox returns the path of busybox if it is a static binary (one
// that runs in an image holding nothing else).
func StaticBusybox() (string, error) {
	p, err := exec.LookPath("busybox")
	if err != nil {
		return "", fmt.Errorf("needs busybox (apt-get install busybox-static)")
	}
	f, err := elf.Open(p)
	if err != nil {
		return "", fmt.Errorf("busybox %s: %w", p, err)
	}
	defer f.Close()
	for _, ph := range f.Progs {
		if ph.Type == elf.PT_INTERP {
			return "", fmt.Errorf("busybox %s is not static (apt-get install busybox-static)", p)
		}
	}
	return p, nil
}

// Command is podman with args, with the test's configuration.
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

// Image imports an image holding /bin/busybox and files (path in the
// image → file on the host, copied with its mode), and returns its name;
// it is removed with t.Cleanup.
func (p *Podman) Image(t testing.TB, files map[string]string) string {
	t.Helper()
	bb, err := StaticBusybox()
	if err != nil {
		t.Skip(err)
	}
	all := map[string]string{"bin/busybox": bb}
	for k, v := range files {
		all[strings.TrimPrefix(k, "/")] = v
	}
	tarPath := filepath.Join(p.dir, Unique("image")+".tar")
	if err := writeTar(tarPath, all); err != nil {
		t.Fatal(err)
	}
	name := "localhost/" + Unique("gohogs-test-") + ":1"
	if _, err := p.run("import", tarPath, name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if _, err := p.run("rmi", "-f", name); err != nil {
			t.Errorf("podmantest: %v", err)
		}
	})
	return name
}

// writeTar writes a tar of files (name in the tar → file on the host),
// with the directories they need.
func writeTar(path string, files map[string]string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	tw := tar.NewWriter(f)
	dirs := map[string]bool{}
	for name, src := range files {
		for d := filepath.Dir(name); d != "." && !dirs[d]; d = filepath.Dir(d) {
			dirs[d] = true
			if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: d + "/", Mode: 0o755}); err != nil {
				return err
			}
		}
		fi, err := os.Stat(src)
		if err != nil {
			return err
		}
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: int64(fi.Mode().Perm()), Size: fi.Size()}); err != nil {
			return err
		}
		in, err := os.Open(src)
		if err != nil {
			return err
		}
		_, err = io.Copy(tw, in)
		in.Close()
		if err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return f.Close()
}

// Container is a running container.
type Container struct {
	Name string
	ID   string // 64 hex digits
	PID  int    // its first process, in the host's pid namespace
}

// Run starts a detached container of image running cmd, with podman run
// options opts before the image (--network ..., -v ...), and returns it
// once it runs; it is removed with t.Cleanup.
func (p *Podman) Run(t testing.TB, image string, opts []string, cmd ...string) Container {
	t.Helper()
	name := Unique("gohogs-test-")
	args := append([]string{"run", "-d", "--runtime", "runc", "--name", name}, opts...)
	args = append(append(args, image), cmd...)
	id, err := p.run(args...)
	t.Cleanup(func() {
		if _, err := p.run("rm", "-f", "-t", "0", name); err != nil {
			t.Errorf("podmantest: %v", err)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	pid, err := p.run("inspect", "--format", "{{.State.Pid}}", name)
	if err != nil {
		t.Fatal(err)
	}
	n, err := strconv.Atoi(pid)
	if err != nil || n <= 0 {
		t.Fatalf("podman inspect %s: pid %q", name, pid)
	}
	return Container{Name: name, ID: id, PID: n}
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

// Service starts podman's API service on a socket in a directory of the
// test's own, DIR/podman/podman.sock (where a program whose
// XDG_RUNTIME_DIR is DIR looks for it), and returns the socket's path once
// it is there; the service is stopped with t.Cleanup.
func (p *Podman) Service(t testing.TB) string {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "podman", "podman.sock")
	if err := os.MkdirAll(filepath.Dir(sock), 0o700); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cmd := p.Command(ctx, "system", "service", "--time=0", "unix://"+sock)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	exited := make(chan struct{})
	var werr error
	go func() { werr = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		cancel()
		<-exited
	})
	// Wait for the socket (bounded): the service makes it once it serves.
	deadline := time.NewTimer(30 * time.Second)
	defer deadline.Stop()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		if fi, err := os.Stat(sock); err == nil && fi.Mode().Type() == os.ModeSocket {
			return sock
		}
		select {
		case <-exited:
			t.Fatalf("podman system service exited: %v: %s", werr, out.String())
		case <-deadline.C:
			cancel()
			<-exited
			t.Fatalf("podman system service made no socket %s in 30 s: %s", sock, out.String())
		case <-tick.C:
		}
	}
}
