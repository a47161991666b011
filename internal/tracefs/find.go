package tracefs

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	promfs "github.com/prometheus/procfs"
	"golang.org/x/sys/unix"
)

// DefaultMountPoint is where Mount mounts tracefs, the kernel's own mount
// point for it.
const DefaultMountPoint = "/sys/kernel/tracing"

// ErrNotMounted is returned by Find when the calling process sees no
// tracefs.
var ErrNotMounted = errors.New("tracefs is not mounted (nor debugfs with a tracing directory)")

// Find returns the directory of the tracing file system that the calling
// process sees, as procRoot/self/mountinfo lists its mounts (procRoot ""
// means /proc): the first mount of a whole tracefs, else the tracing
// directory of the first mount of a whole debugfs. It returns an error
// wrapping ErrNotMounted when there is none.
func Find(procRoot string) (string, error) {
	if procRoot == "" {
		procRoot = "/proc"
	}
	p, err := promfs.NewFS(procRoot)
	if err != nil {
		return "", fmt.Errorf("tracefs: %w", err)
	}
	mounts, err := p.GetMounts()
	if err != nil {
		return "", fmt.Errorf("tracefs: read %s/self/mountinfo: %w", procRoot, err)
	}
	for _, m := range mounts {
		if m.FSType == "tracefs" && unescape(m.Root) == "/" {
			return unescape(m.MountPoint), nil
		}
	}
	for _, m := range mounts {
		if m.FSType != "debugfs" || unescape(m.Root) != "/" {
			continue
		}
		dir := filepath.Join(unescape(m.MountPoint), "tracing")
		if fi, err := os.Stat(filepath.Join(dir, "instances")); err == nil && fi.IsDir() {
			return dir, nil
		}
	}
	return "", ErrNotMounted
}

// unescape decodes the octal escapes of mountinfo's paths (show_mountinfo
// escapes space, tab, newline and backslash).
var unescape = strings.NewReplacer(`\040`, " ", `\011`, "\t", `\012`, "\n", `\134`, `\`).Replace

// Mount mounts tracefs on dir (DefaultMountPoint if ""), and returns dir.
// It changes the host: the mount stays after the process exits, as the
// kernel's own mount of it would.
func Mount(dir string) (string, error) {
	if dir == "" {
		dir = DefaultMountPoint
	}
	if err := unix.Mount("tracefs", dir, "tracefs", 0, ""); err != nil {
		return "", fmt.Errorf("mount tracefs on %s: %w", dir, err)
	}
	return dir, nil
}
