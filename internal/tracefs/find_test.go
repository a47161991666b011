package tracefs

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// procWithMounts writes a proc tree whose self/mountinfo holds lines.
func procWithMounts(t *testing.T, lines ...string) string {
	t.Helper()
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "self"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "self", "mountinfo"), []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return root
}

func TestFind(t *testing.T) {
	const (
		rootfs = `22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw`
		proc   = `23 22 0:21 / /proc rw,nosuid,nodev,noexec,relatime shared:12 - proc proc rw`
	)
	dbg := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dbg, "tracing", "instances"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		lines []string
		want  string
	}{
		{"kernel's place", []string{rootfs, proc, `48 23 0:13 / /sys/kernel/tracing rw,relatime shared:20 - tracefs tracefs rw`}, "/sys/kernel/tracing"},
		// Mounted elsewhere (a container), its path escaped as mountinfo
		// escapes it; a bind mount of a part of it is no root.
		{"anywhere", []string{rootfs, `50 22 0:13 /instances /mnt/part rw - tracefs tracefs rw`,
			`51 22 0:13 / /run/my\040trace rw,relatime - tracefs tracefs rw`}, "/run/my trace"},
		{"debugfs", []string{rootfs, `30 22 0:7 / ` + dbg + ` rw,relatime - debugfs debugfs rw`}, filepath.Join(dbg, "tracing")},
		{"tracefs first", []string{rootfs, `30 22 0:7 / ` + dbg + ` rw - debugfs debugfs rw`, `31 22 0:13 / /t rw - tracefs tracefs rw`}, "/t"},
		{"none", []string{rootfs, proc, `30 22 0:7 / /nonexistent rw - debugfs debugfs rw`}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Find(procWithMounts(t, tc.lines...))
			if tc.want == "" {
				if !errors.Is(err, ErrNotMounted) {
					t.Fatalf("Find = %q, %v; want ErrNotMounted", got, err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("Find = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
	if _, err := Find(t.TempDir()); err == nil || errors.Is(err, ErrNotMounted) {
		t.Fatalf("no mountinfo: %v", err)
	}
}

// TestFindHost: on this host, Find gives a tracefs with instances, if
// mountinfo lists one.
func TestFindHost(t *testing.T) {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Skip(err)
	}
	if !strings.Contains(string(b), " - tracefs ") {
		t.Skip("no tracefs mounted here")
	}
	dir, err := Find("")
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(filepath.Join(dir, "instances")); err != nil || !fi.IsDir() {
		t.Fatalf("%s: no instances directory (%v)", dir, err)
	}
}
