package netnstest

import (
	"archive/tar"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Podman is a container image made for a test with no registry: a tar of a
// directory holding a static busybox (/bin/busybox, /bin/sh), imported with
// `podman import`, and the containers.conf its containers run with. Facts
// of these machines: crun refuses the kernel's hybrid cgroup layout, so
// containers run with runc; the default ulimits fail, so the configuration
// sets none.
type Podman struct {
	Image string // localhost/NAME
	Conf  string // the containers.conf
	dir   string
}

// busybox is the static busybox the image holds (Debian's busybox-static).
const busybox = "/bin/busybox"

// NewPodman makes the image (see CreatePodman) for test t and removes it
// with t.Cleanup, even when the test fails. It skips t without podman, runc
// or a static busybox.
func NewPodman(t testing.TB) *Podman {
	t.Helper()
	Skip(t)
	if err := PodmanMissing(); err != nil {
		t.Skip(err)
	}
	p, err := CreatePodman("gohogs-nat")
	if err != nil {
		t.Fatal(err)
	}
	removeWhenDone(t, p)
	return p
}

// PodmanMissing says what is missing to run containers, or nil.
func PodmanMissing() error {
	for _, c := range []string{"podman", "runc"} {
		if _, err := exec.LookPath(c); err != nil {
			return fmt.Errorf("needs %s", c)
		}
	}
	f, err := elf.Open(busybox)
	if err != nil {
		return fmt.Errorf("needs a static %s (busybox-static): %v", busybox, err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return fmt.Errorf("needs a static %s (busybox-static), this one is dynamic", busybox)
		}
	}
	return nil
}

// CreatePodman imports the image as localhost/PREFIX-ID (ID unique to the
// process). The caller removes it with Remove.
func CreatePodman(prefix string) (*Podman, error) {
	dir, err := os.MkdirTemp("", "gohogs-podman")
	if err != nil {
		return nil, err
	}
	p := &Podman{Image: "localhost/" + prefix + "-" + uniqueID(), Conf: filepath.Join(dir, "containers.conf"), dir: dir}
	if err := p.create(); err != nil {
		return nil, errors.Join(fmt.Errorf("podman image %s: %w", p.Image, err), p.Remove())
	}
	return p, nil
}

func (p *Podman) create() error {
	if err := os.WriteFile(p.Conf, []byte("[containers]\ndefault_ulimits = []\n"), 0o644); err != nil {
		return err
	}
	tarPath := filepath.Join(p.dir, "image.tar")
	if err := writeImage(tarPath); err != nil {
		return err
	}
	cmd := p.cmd("import", tarPath, p.Image)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("podman import: %w: %s", err, strings.TrimSpace(string(out)))
	}
	return nil
}

// writeImage writes the tar of a root holding bin/busybox and bin/sh.
func writeImage(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	bb, err := os.Open(busybox)
	if err != nil {
		return err
	}
	defer bb.Close()
	st, err := bb.Stat()
	if err != nil {
		return err
	}
	w := tar.NewWriter(f)
	for _, h := range []*tar.Header{
		{Name: "bin/", Typeflag: tar.TypeDir, Mode: 0o755},
		{Name: "tmp/", Typeflag: tar.TypeDir, Mode: 0o1777},
		{Name: "bin/sh", Typeflag: tar.TypeSymlink, Linkname: "busybox", Mode: 0o777},
	} {
		if err := w.WriteHeader(h); err != nil {
			return err
		}
	}
	if err := w.WriteHeader(&tar.Header{Name: "bin/busybox", Typeflag: tar.TypeReg, Mode: 0o755, Size: st.Size()}); err != nil {
		return err
	}
	if _, err := io.Copy(w, bb); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	return f.Close()
}

// cmd is a podman command with the test's configuration.
func (p *Podman) cmd(args ...string) *exec.Cmd {
	c := exec.Command("podman", args...)
	c.Env = append(os.Environ(), "CONTAINERS_CONF="+p.Conf)
	return c
}

// Run returns the command that runs args in a container of the image named
// name (unique to the caller), with stdin open, on podman's default bridge
// network (NAT), removed when it exits; RemoveContainer removes it if it
// does not.
func (p *Podman) Run(name string, args ...string) *exec.Cmd {
	return p.cmd(append([]string{"--runtime", "runc", "run", "-i", "--rm", "--name", name, p.Image}, args...)...)
}

// Inspect returns a field of a container (a Go template, as podman inspect
// --format takes).
func (p *Podman) Inspect(name, format string) (string, error) {
	out, err := p.cmd("inspect", "--format", format, name).Output()
	if err != nil {
		return "", fmt.Errorf("podman inspect %s: %w", name, err)
	}
	return strings.TrimSpace(string(out)), nil
}

// RemoveContainer removes container name if it is still there.
func (p *Podman) RemoveContainer(name string) error {
	if out, err := p.cmd("rm", "-f", "--ignore", name).CombinedOutput(); err != nil {
		return fmt.Errorf("podman rm %s: %w: %s", name, err, strings.TrimSpace(string(out)))
	}
	return nil
}

// Remove deletes the image (and any container of it) and the files.
func (p *Podman) Remove() error {
	var err error
	if p.Image != "" {
		if out, e := p.cmd("rmi", "-f", "--ignore", p.Image).CombinedOutput(); e != nil {
			err = fmt.Errorf("podman rmi %s: %w: %s", p.Image, e, strings.TrimSpace(string(out)))
		}
	}
	return errors.Join(err, os.RemoveAll(p.dir))
}
