package cgroup

import (
	"bytes"
	"strings"
	"testing"
)

const (
	id1 = "4d2e7c2f7d3b0d0a2e3f4c5b6a7988776655443322110099aabbccddeeff0011"
	id2 = "9a826d2c6ac699a5619fbc83cd0f3e21c405523829ac96af302ce2df1a701a08"
	pod = "8f4b2a3e-5c1d-4e2f-9a8b-7c6d5e4f3a2b"
	// podSd is pod as systemd's slice names spell it.
	podSd = "8f4b2a3e_5c1d_4e2f_9a8b_7c6d5e4f3a2b"
)

// hybrid is a hybrid host's file: v1 controllers, name=systemd and the v2
// line, all at path p (as a runtime's cgroupfs driver puts them).
func hybrid(p string) string {
	var b strings.Builder
	for i, c := range []string{"name=systemd", "pids", "blkio", "freezer", "devices", "memory", "cpuset", "cpuacct", "cpu"} {
		b.WriteString(string(rune('9'-i)) + ":" + c + ":" + p + "\n")
	}
	b.WriteString("0::" + p + "\n")
	return b.String()
}

func TestRead(t *testing.T) {
	for _, tc := range []struct {
		name, file string
		want       Info
	}{
		{"v2 root", "0::/\n", Info{Path: "/"}},
		{"empty", "", Info{}},
		{"v2 service", "0::/system.slice/nginx.service\n",
			Info{Path: "/system.slice/nginx.service", Unit: "nginx.service"}},
		{"v2 template service", "0::/system.slice/system-getty.slice/getty@tty1.service\n",
			Info{Path: "/system.slice/system-getty.slice/getty@tty1.service", Unit: "getty@tty1.service"}},
		{"v2 session", "0::/user.slice/user-1000.slice/session-3.scope\n",
			Info{Path: "/user.slice/user-1000.slice/session-3.scope", Unit: "session-3.scope"}},
		{"v2 user manager's app", "0::/user.slice/user-1000.slice/user@1000.service/app.slice/app-org.gnome.Terminal.slice/vte-spawn-3f1e.scope\n",
			Info{Path: "/user.slice/user-1000.slice/user@1000.service/app.slice/app-org.gnome.Terminal.slice/vte-spawn-3f1e.scope", Unit: "user@1000.service"}},
		{"v2 init", "0::/init.scope\n", Info{Path: "/init.scope", Unit: "init.scope"}},
		{"escaped unit", "0::/system.slice/_cpuset.x.service\n", Info{Path: "/system.slice/_cpuset.x.service", Unit: "cpuset.x.service"}},
		{"legacy systemd, v2 line at root", "12:pids:/system.slice/ssh.service\n1:name=systemd:/system.slice/ssh.service\n0::/\n",
			Info{Path: "/system.slice/ssh.service", Unit: "ssh.service"}},
		{"hybrid systemd", hybrid("/system.slice/nginx.service"),
			Info{Path: "/system.slice/nginx.service", Unit: "nginx.service"}},
		{"this machine's own", "9:name=systemd:/\n4:memory:/process_api/ac929b130f8a525f110e19e762743d7f\n0::/\n", Info{Path: "/"}},

		{"docker systemd driver", "0::/system.slice/docker-" + id1 + ".scope\n",
			Info{Path: "/system.slice/docker-" + id1 + ".scope", Unit: "docker-" + id1 + ".scope", Runtime: Docker, ID: id1}},
		{"docker cgroupfs v2", "0::/docker/" + id1 + "\n", Info{Path: "/docker/" + id1, Runtime: Docker, ID: id1}},
		{"docker cgroupfs hybrid", hybrid("/docker/" + id1), Info{Path: "/docker/" + id1, Runtime: Docker, ID: id1}},
		{"docker on a legacy host without systemd", "11:cpuset:/docker/" + id1 + "\n10:memory:/docker/" + id1 + "\n",
			Info{Path: "/docker/" + id1, Runtime: Docker, ID: id1}},
		{"docker in docker", "0::/docker/" + id1 + "/docker/" + id2 + "\n", Info{Path: "/docker/" + id1 + "/docker/" + id2, Runtime: Docker, ID: id2}},
		{"docker rootless", "0::/user.slice/user-1000.slice/user@1000.service/user.slice/docker-" + id1 + ".scope\n",
			Info{Path: "/user.slice/user-1000.slice/user@1000.service/user.slice/docker-" + id1 + ".scope", Unit: "user@1000.service", Runtime: Docker, ID: id1}},
		{"the docker daemon itself", "0::/system.slice/docker.service\n", Info{Path: "/system.slice/docker.service", Unit: "docker.service"}},

		{"podman cgroupfs, this machine", hybrid("/libpod_parent/libpod-" + id2),
			Info{Path: "/libpod_parent/libpod-" + id2, Runtime: Podman, ID: id2}},
		{"podman systemd", "0::/machine.slice/libpod-" + id2 + ".scope\n",
			Info{Path: "/machine.slice/libpod-" + id2 + ".scope", Unit: "libpod-" + id2 + ".scope", Runtime: Podman, ID: id2}},
		{"podman systemd, container subgroup", "0::/machine.slice/libpod-" + id2 + ".scope/container\n",
			Info{Path: "/machine.slice/libpod-" + id2 + ".scope/container", Unit: "libpod-" + id2 + ".scope", Runtime: Podman, ID: id2}},
		{"podman rootless", "0::/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-" + id2 + ".scope/container\n",
			Info{Path: "/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-" + id2 + ".scope/container", Unit: "user@1000.service", Runtime: Podman, ID: id2}},
		{"podman pod, systemd", "0::/machine.slice/machine-libpod_pod_" + id1 + ".slice/libpod-" + id2 + ".scope\n",
			Info{Path: "/machine.slice/machine-libpod_pod_" + id1 + ".slice/libpod-" + id2 + ".scope", Unit: "libpod-" + id2 + ".scope", Runtime: Podman, ID: id2}},
		{"podman pod, cgroupfs", "0::/libpod_parent/" + id1 + "/libpod-" + id2 + "\n",
			Info{Path: "/libpod_parent/" + id1 + "/libpod-" + id2, Runtime: Podman, ID: id2}},
		{"conmon is no container", "0::/machine.slice/libpod-conmon-" + id2 + ".scope\n",
			Info{Path: "/machine.slice/libpod-conmon-" + id2 + ".scope", Unit: "libpod-conmon-" + id2 + ".scope"}},

		{"kubernetes containerd systemd", "0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + podSd + ".slice/cri-containerd-" + id1 + ".scope\n",
			Info{Path: "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + podSd + ".slice/cri-containerd-" + id1 + ".scope",
				Unit: "cri-containerd-" + id1 + ".scope", Runtime: Containerd, ID: id1, PodUID: pod}},
		{"kubernetes guaranteed pod", "0::/kubepods.slice/kubepods-pod" + podSd + ".slice/cri-containerd-" + id1 + ".scope\n",
			Info{Path: "/kubepods.slice/kubepods-pod" + podSd + ".slice/cri-containerd-" + id1 + ".scope",
				Unit: "cri-containerd-" + id1 + ".scope", Runtime: Containerd, ID: id1, PodUID: pod}},
		{"kubernetes cgroupfs v1", "11:memory:/kubepods/burstable/pod" + pod + "/" + id1 + "\n1:name=systemd:/kubepods/burstable/pod" + pod + "/" + id1 + "\n",
			Info{Path: "/kubepods/burstable/pod" + pod + "/" + id1, Runtime: CRI, ID: id1, PodUID: pod}},
		{"kubernetes static pod", "0::/kubepods/besteffort/pod0123456789abcdef0123456789abcdef/" + id1 + "\n",
			Info{Path: "/kubepods/besteffort/pod0123456789abcdef0123456789abcdef/" + id1, Runtime: CRI, ID: id1, PodUID: "0123456789abcdef0123456789abcdef"}},
		{"cri-o systemd", "0::/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" + podSd + ".slice/crio-" + id1 + ".scope\n",
			Info{Path: "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" + podSd + ".slice/crio-" + id1 + ".scope",
				Unit: "crio-" + id1 + ".scope", Runtime: CRIO, ID: id1, PodUID: pod}},
		{"cri-o cgroupfs", "0::/kubepods/besteffort/pod" + pod + "/crio-" + id1 + "\n",
			Info{Path: "/kubepods/besteffort/pod" + pod + "/crio-" + id1, Runtime: CRIO, ID: id1, PodUID: pod}},
		{"cri-o conmon", "0::/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" + podSd + ".slice/crio-conmon-" + id1 + ".scope\n",
			Info{Path: "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" + podSd + ".slice/crio-conmon-" + id1 + ".scope",
				Unit: "crio-conmon-" + id1 + ".scope", PodUID: pod}},
		{"nerdctl", "0::/system.slice/nerdctl-" + id1 + ".scope\n",
			Info{Path: "/system.slice/nerdctl-" + id1 + ".scope", Unit: "nerdctl-" + id1 + ".scope", Runtime: Containerd, ID: id1}},

		{"outside the cgroup namespace", "0::/../../system.slice/nginx.service\n", Info{Path: "/../../system.slice/nginx.service", Unit: "nginx.service"}},
		{"colon in a path", "0::/system.slice/a:b.service\n", Info{Path: "/system.slice/a:b.service", Unit: "a:b.service"}},
		{"upper-case hex is no id", "0::/docker/" + strings.ToUpper(id1) + "\n", Info{Path: "/docker/" + strings.ToUpper(id1)}},
		{"short id", "0::/docker/" + id1[:63] + "\n", Info{Path: "/docker/" + id1[:63]}},
		{"bare id outside docker or a pod", "0::/" + id1 + "\n", Info{Path: "/" + id1}},
		{"docker- without .scope", "0::/system.slice/docker-" + id1 + "\n", Info{Path: "/system.slice/docker-" + id1}},
		{"pod without kubepods", "0::/x/pod" + pod + "/" + id1 + "\n", Info{Path: "/x/pod" + pod + "/" + id1}},
		{"not a unit", "0::/libpod_parent\n", Info{Path: "/libpod_parent"}},
		{"a slice alone", "0::/system.slice\n", Info{Path: "/system.slice"}},
		{"cut last line", "1:name=systemd:/system.slice/a.service\n0::/system.slice/b.serv", Info{Path: "/system.slice/a.service", Unit: "a.service"}},
		{"garbage", "hello\n:::\n0:\n0::relative\n", Info{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Read([]byte(tc.file)); got != tc.want {
				t.Errorf("Read(%q)\n got %+v\nwant %+v", tc.file, got, tc.want)
			}
		})
	}
}

func TestRuntime(t *testing.T) {
	for r := NoRuntime; r < numRuntimes; r++ {
		if got, ok := ParseRuntime(r.String()); !ok || got != r {
			t.Errorf("ParseRuntime(%q) = %v %v", r.String(), got, ok)
		}
	}
	if Podman.String() != "podman" || CRIO.String() != "cri-o" || Runtime(200).String() != "runtime200" {
		t.Errorf("names: %q %q %q", Podman, CRIO, Runtime(200))
	}
	if _, ok := ParseRuntime("lxc"); ok {
		t.Error("an unknown runtime parsed")
	}
}

func TestUserManager(t *testing.T) {
	for _, tc := range []struct {
		path string
		uid  uint32
		ok   bool
	}{
		{"/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-" + id2 + ".scope", 1000, true},
		{"/system.slice/user@.service", 0, false},
		{"/user.slice/user-1000.slice/session-3.scope", 0, false},
		{"/user.slice/user@99999999999.service", 0, false},
	} {
		if uid, ok := (Info{Path: tc.path}).UserManager(); uid != tc.uid || ok != tc.ok {
			t.Errorf("UserManager(%q) = %d %v", tc.path, uid, ok)
		}
	}
}

func TestUnitNames(t *testing.T) {
	for s, ok := range map[string]bool{
		"a.service": true, "a@b.service": true, "a@.service": true, "@a.service": false, ".service": false,
		"a@b@c.service": false, "a b.service": false, "a.unknown": false, strings.Repeat("a", 250) + ".scope": false,
		`a\x2db.mount`: true,
	} {
		if isUnitName(s) != ok {
			t.Errorf("isUnitName(%q) = %v", s, !ok)
		}
	}
}

func FuzzRead(f *testing.F) {
	f.Add([]byte(hybrid("/libpod_parent/libpod-" + id2)))
	f.Add([]byte("0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + podSd + ".slice/cri-containerd-" + id1 + ".scope\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		info := Read(b)
		if info.Path != "" && !bytes.Contains(b, []byte(info.Path)) {
			t.Fatalf("path %q not in the input", info.Path)
		}
		if (info.Runtime == NoRuntime) != (info.ID == "") || (info.ID != "" && !isID(info.ID)) {
			t.Fatalf("runtime %v with id %q", info.Runtime, info.ID)
		}
		if info.Unit != "" && (!isUnitName(info.Unit) || !strings.Contains(info.Path, info.Unit)) {
			t.Fatalf("unit %q of path %q", info.Unit, info.Path)
		}
		if info.PodUID != "" && !strings.Contains(info.Path, "kubepods") && !bytes.Contains(b, []byte("kubepods")) {
			t.Fatalf("pod %q without kubepods", info.PodUID)
		}
		if again := Read(b); again != info {
			t.Fatalf("not deterministic: %+v then %+v", info, again)
		}
		_, _ = info.UserManager()
	})
}
