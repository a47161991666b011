package podmantest

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

// CreateImage imports an image holding /bin/busybox, /bin/sh (a link to
// it), a /tmp and files (path in the image → file on the host, copied with
// its mode), and returns its name. Remove (or RemoveImage) removes it.
func (p *Podman) CreateImage(files map[string]string) (string, error) {
	bb, err := StaticBusybox()
	if err != nil {
		return "", err
	}
	all := map[string]string{"bin/busybox": bb}
	for k, v := range files {
		all[strings.TrimPrefix(k, "/")] = v
	}
	tarPath := filepath.Join(p.dir, Unique("image")+".tar")
	if err := writeTar(tarPath, all); err != nil {
		return "", fmt.Errorf("podmantest: image tar: %w", err)
	}
	defer os.Remove(tarPath)
	name := "localhost/" + Unique(p.prefix) + ":1"
	p.mu.Lock()
	p.images[name] = true // a failed import may leave it half made
	p.mu.Unlock()
	if _, err := p.run("import", tarPath, name); err != nil {
		return "", err
	}
	return name, nil
}

// RemoveImage removes image name, and first the containers p made of it,
// if they are there. (podman rmi -f removes the containers of an image
// itself, but not one that a killed podman run --rm left half removed.)
func (p *Podman) RemoveImage(name string) error {
	var errs []error
	for _, c := range p.made(name) {
		errs = append(errs, p.RemoveContainer(c))
	}
	if _, err := p.run("rmi", "-f", "--ignore", name); err != nil {
		return errors.Join(append(errs, err)...)
	}
	p.mu.Lock()
	delete(p.images, name)
	p.mu.Unlock()
	return errors.Join(errs...)
}

// Image is CreateImage for test t: the image is removed with t.Cleanup.
func (p *Podman) Image(t testing.TB, files map[string]string) string {
	t.Helper()
	name, err := p.CreateImage(files)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := p.RemoveImage(name); err != nil {
			t.Errorf("podmantest: %v", err)
		}
	})
	return name
}

// writeTar writes a tar of a root holding tmp/, bin/sh (a link to
// busybox) and files (name in the tar → file on the host), with the
// directories they need.
func writeTar(path string, files map[string]string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	tw := tar.NewWriter(f)
	dirs := map[string]bool{"bin": true, "tmp": true}
	for _, h := range []*tar.Header{
		{Name: "bin/", Typeflag: tar.TypeDir, Mode: 0o755},
		{Name: "tmp/", Typeflag: tar.TypeDir, Mode: 0o1777},
		{Name: "bin/sh", Typeflag: tar.TypeSymlink, Linkname: "busybox", Mode: 0o777},
	} {
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
	}
	for name, src := range files {
		for d := filepath.Dir(name); d != "." && !dirs[d]; d = filepath.Dir(d) {
			dirs[d] = true
			if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: d + "/", Mode: 0o755}); err != nil {
				return err
			}
		}
		if err := writeFile(tw, name, src); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return f.Close()
}

// writeFile writes host file src into tw as name, with its mode.
func writeFile(tw *tar.Writer, name, src string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	fi, err := in.Stat()
	if err != nil {
		return err
	}
	if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: int64(fi.Mode().Perm()), Size: fi.Size()}); err != nil {
		return err
	}
	_, err = io.Copy(tw, in)
	return err
}
