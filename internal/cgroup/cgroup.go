package cgroup

import (
	"bytes"
	"strconv"
	"strings"
)

// Runtime is a container runtime, as the cgroup path names it.
type Runtime uint8

// The runtimes recognised.
const (
	// NoRuntime: not a container (or one whose cgroup names no runtime
	// known here).
	NoRuntime Runtime = iota
	Docker
	Podman
	Containerd
	CRIO
	// CRI is a Kubernetes container in the cgroupfs layout
	// (kubepods/.../pod<UID>/<id>), which does not say which CRI runtime
	// runs it.
	CRI
	numRuntimes
)

var runtimeNames = [numRuntimes]string{"", "docker", "podman", "containerd", "cri-o", "cri"}

// String is the runtime's name in gohogs's output: "docker", "podman",
// "containerd", "cri-o", "cri"; "" for NoRuntime.
func (r Runtime) String() string {
	if r < numRuntimes {
		return runtimeNames[r]
	}
	return "runtime" + strconv.Itoa(int(r))
}

// ParseRuntime reads a runtime's name as String writes it.
func ParseRuntime(s string) (Runtime, bool) {
	for i, n := range runtimeNames {
		if n == s {
			return Runtime(i), true
		}
	}
	return NoRuntime, false
}

// Info is what a process's cgroup says about it. The zero Info says
// nothing.
type Info struct {
	// Path is the cgroup path: v2's, else the v1 name=systemd one, else
	// (a legacy host without systemd) the v1 controller's that names the
	// container.
	Path string
	// Unit is the systemd unit ("" if the path holds none).
	Unit string
	// Runtime and ID are the container's runtime and id (64 hex digits);
	// NoRuntime and "" for a process in no container.
	Runtime Runtime
	ID      string
	// PodUID is the Kubernetes pod's UID (dashed), "" outside a pod.
	PodUID string
}

// MaxFile is how much of /proc/PID/cgroup is worth reading: a hybrid
// host's thirteen lines of long Kubernetes paths take under 4 KiB.
const MaxFile = 8192

// Read parses the text of /proc/PID/cgroup. Every line ends in a newline,
// as the kernel writes them: a last line without one was cut short by the
// reader's buffer, and is ignored.
func Read(b []byte) Info {
	if i := bytes.LastIndexByte(b, '\n'); i >= 0 {
		b = b[:i+1]
	} else {
		b = nil
	}
	v2, systemd := []byte(nil), []byte(nil)
	for rest := b; len(rest) > 0; {
		i := bytes.IndexByte(rest, '\n')
		line := rest[:i]
		rest = rest[i+1:]
		id, ctl, path, ok := splitLine(line)
		switch {
		case !ok:
		case string(id) == "0" && len(ctl) == 0:
			v2 = path
		case string(ctl) == "name=systemd":
			systemd = path
		}
	}
	path := v2
	if isRoot(path) && !isRoot(systemd) {
		path = systemd
	}
	info := Parse(string(path))
	if info.Runtime == NoRuntime {
		// A legacy host without systemd: only the controllers' paths
		// name the container.
		for rest := b; len(rest) > 0 && info.ID == ""; {
			i := bytes.IndexByte(rest, '\n')
			line := rest[:i]
			rest = rest[i+1:]
			if _, ctl, p, ok := splitLine(line); ok && len(ctl) > 0 && !isRoot(p) {
				if c := Parse(string(p)); c.Runtime != NoRuntime {
					info.Runtime, info.ID = c.Runtime, c.ID
					if info.PodUID == "" {
						info.PodUID = c.PodUID
					}
					if isRoot([]byte(info.Path)) {
						info.Path = c.Path
					}
				}
			}
		}
	}
	return info
}

// splitLine splits "ID:CONTROLLERS:PATH"; the path may hold ':'.
func splitLine(line []byte) (id, ctl, path []byte, ok bool) {
	i := bytes.IndexByte(line, ':')
	if i <= 0 {
		return nil, nil, nil, false
	}
	j := bytes.IndexByte(line[i+1:], ':')
	if j < 0 {
		return nil, nil, nil, false
	}
	path = line[i+1+j+1:]
	if len(path) == 0 || path[0] != '/' {
		return nil, nil, nil, false
	}
	return line[:i], line[i+1 : i+1+j], path, true
}

func isRoot(p []byte) bool { return len(p) == 0 || string(p) == "/" }

// Parse derives the unit and the container from a cgroup path.
func Parse(path string) Info {
	info := Info{Path: path}
	if isRoot([]byte(path)) {
		return info
	}
	// Components, without the ".." of a path outside gohogs's cgroup
	// namespace.
	var comps []string
	for c := range strings.SplitSeq(path, "/") {
		if c != "" && c != "." && c != ".." {
			comps = append(comps, c)
		}
	}
	info.Unit = unitOf(comps)
	kube := false
	for _, c := range comps {
		if strings.HasPrefix(c, "kubepods") {
			kube = true
		}
		if kube && info.PodUID == "" {
			info.PodUID = podUID(c)
		}
	}
	for i := len(comps) - 1; i >= 0 && info.Runtime == NoRuntime; i-- {
		parent := ""
		if i > 0 {
			parent = comps[i-1]
		}
		info.Runtime, info.ID = container(comps[i], parent, info.PodUID != "")
	}
	return info
}

// container recognises a container's cgroup directory c (parent is the one
// above it; inPod says the path is a Kubernetes pod's).
func container(c, parent string, inPod bool) (Runtime, string) {
	scope := strings.TrimSuffix(c, ".scope")
	for _, p := range []struct {
		prefix string
		rt     Runtime
		scope  bool // only as NAME-<id>.scope (systemd)
	}{
		{"docker-", Docker, true},
		{"libpod-", Podman, false},
		{"cri-containerd-", Containerd, true},
		{"nerdctl-", Containerd, true},
		{"crio-", CRIO, false},
	} {
		if p.scope && scope == c {
			continue
		}
		if id, ok := strings.CutPrefix(scope, p.prefix); ok && isID(id) {
			return p.rt, id
		}
	}
	if isID(c) {
		switch {
		case parent == "docker":
			return Docker, c
		case inPod:
			return CRI, c
		}
	}
	return NoRuntime, ""
}

// isID tells whether s is a container id: 64 lower-case hex digits.
func isID(s string) bool {
	return len(s) == 64 && isHex(s)
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// podUID reads a pod's UID from its cgroup directory: "pod<UID>"
// (cgroupfs) or "kubepods[-QOS]-pod<UID with _ for ->.slice" (systemd).
func podUID(c string) string {
	var uid string
	if s, ok := strings.CutSuffix(c, ".slice"); ok {
		i := strings.LastIndex(s, "-pod")
		if i < 0 || !strings.HasPrefix(s, "kubepods") {
			return ""
		}
		uid = strings.ReplaceAll(s[i+len("-pod"):], "_", "-")
	} else if s, ok := strings.CutPrefix(c, "pod"); ok {
		uid = s
	} else {
		return ""
	}
	if isUUID(uid) || (len(uid) == 32 && isHex(uid)) { // static pods: a hash
		return uid
	}
	return ""
}

// isUUID tells whether s is 8-4-4-4-12 lower-case hex digits.
func isUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		switch i {
		case 8, 13, 18, 23:
			if s[i] != '-' {
				return false
			}
		default:
			if !isHex(s[i : i+1]) {
				return false
			}
		}
	}
	return true
}

// unitOf is systemd's unit of a cgroup path (cg_path_get_unit): the first
// component after the slices, unescaped, if it is a unit name.
func unitOf(comps []string) string {
	for _, c := range comps {
		c = strings.TrimPrefix(c, "_") // systemd's escape (cg_escape)
		if strings.HasSuffix(c, ".slice") && isUnitName(c) {
			continue
		}
		if isUnitName(c) {
			return c
		}
		return ""
	}
	return ""
}

// unitSuffixes are the unit types systemd knows.
var unitSuffixes = []string{".service", ".scope", ".socket", ".mount", ".swap", ".slice",
	".target", ".device", ".automount", ".timer", ".path"}

// isUnitName tells whether s is a valid unit name: "prefix[@instance].type"
// of systemd's characters, at most 255 bytes.
func isUnitName(s string) bool {
	if len(s) > 255 {
		return false
	}
	base := ""
	for _, suf := range unitSuffixes {
		if b, ok := strings.CutSuffix(s, suf); ok {
			base = b
			break
		}
	}
	if base == "" || base[0] == '@' {
		return false
	}
	at := false
	for i := 0; i < len(base); i++ {
		switch c := base[i]; {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case c == ':' || c == '-' || c == '_' || c == '.' || c == '\\':
		case c == '@' && !at:
			at = true
		default:
			return false
		}
	}
	return true
}

// UserManager returns the uid of the systemd user manager (user@UID.service)
// whose tree holds the path: a rootless container's owner.
func (i Info) UserManager() (uint32, bool) {
	for c := range strings.SplitSeq(i.Path, "/") {
		if s, ok := strings.CutPrefix(c, "user@"); ok {
			if s, ok := strings.CutSuffix(s, ".service"); ok {
				if n, err := strconv.ParseUint(s, 10, 32); err == nil {
					return uint32(n), true
				}
			}
		}
	}
	return 0, false
}
