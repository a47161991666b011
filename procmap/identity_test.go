package procmap

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gohogs/gohogs/internal/procfs"
)

const fixtureContainer = "9a826d2c6ac699a5619fbc83cd0f3e21c405523829ac96af302ce2df1a701a08"

// TestFixtureCgroup: a process's cgroup, unit and container are read with
// its identity; one without a cgroup file has none.
func TestFixtureCgroup(t *testing.T) {
	r := fixture(t, "testdata/proc1", Options{})
	for _, tc := range []struct {
		pid          int
		cgroup, unit string
		container    Container
	}{
		{100, "/system.slice/ssh.service", "ssh.service", Container{}},
		{200, "/user.slice/user-1000.slice/session-3.scope", "session-3.scope", Container{}},
		{300, "/system.slice/nginx.service", "nginx.service", Container{}}, // v1 name=systemd, v2 at the root
		{350, "", "", Container{}}, // no cgroup file
		{500, "/libpod_parent/libpod-" + fixtureContainer, "", Container{Runtime: RuntimePodman, ID: fixtureContainer}},
	} {
		p, err := r.Process(tc.pid)
		if err != nil {
			t.Fatal(err)
		}
		if p.Cgroup != tc.cgroup || p.Unit != tc.unit || p.Container != tc.container {
			t.Errorf("Process(%d): cgroup %q unit %q container %+v; want %q %q %+v", tc.pid, p.Cgroup, p.Unit, p.Container, tc.cgroup, tc.unit, tc.container)
		}
	}
	if RuntimePodman.String() != "podman" {
		t.Errorf("RuntimePodman is %q", RuntimePodman)
	}
	if rt, ok := ParseRuntime("docker"); !ok || rt != RuntimeDocker {
		t.Errorf("ParseRuntime(docker) = %v %v", rt, ok)
	}
	// Without Options.ContainerNames nothing is asked.
	if n := r.ContainerName(Container{Runtime: RuntimePodman, ID: fixtureContainer}); n != "" {
		t.Errorf("a name without ContainerNames: %q", n)
	}
}

// TestFixtureContainerName: with Options.ContainerNames, a container's name
// is asked of the runtime's API in the background; ContainerName answers
// it once known.
func TestFixtureContainerName(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "podman.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	asked := make(chan string, 10)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		asked <- req.URL.Path
		if req.URL.Path != "/containers/"+fixtureContainer+"/json" {
			http.NotFound(w, req)
			return
		}
		fmt.Fprint(w, `{"Id":"`+fixtureContainer+`","Name":"/web"}`)
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })

	r := fixture(t, "testdata/proc1", Options{ContainerNames: true, ContainerSockets: []string{sock, filepath.Join(t.TempDir(), "absent.sock")}})
	p, err := r.Process(500)
	if err != nil {
		t.Fatal(err)
	}
	// New read every process: the name was asked once, for pid 500's
	// container only.
	select {
	case path := <-asked:
		if path != "/containers/"+fixtureContainer+"/json" {
			t.Fatalf("asked for %q", path)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the API was not asked in 10 s")
	}
	deadline := time.Now().Add(10 * time.Second)
	for r.ContainerName(p.Container) != "web" {
		if time.Now().After(deadline) {
			t.Fatalf("ContainerName = %q after 10 s, want web", r.ContainerName(p.Container))
		}
		time.Sleep(5 * time.Millisecond)
	}
	if n := r.ContainerName(Container{}); n != "" {
		t.Errorf("no container named %q", n)
	}
	select {
	case path := <-asked:
		t.Errorf("asked again: %q", path)
	default:
	}
}

// BenchmarkReadCgroup: what reading a process's cgroup adds to an
// identity read (this process's /proc/PID/cgroup on the host).
func BenchmarkReadCgroup(b *testing.B) {
	proc := hostProc(b)
	d, err := proc.OpenPID(os.Getpid())
	if err != nil {
		b.Fatal(err)
	}
	defer d.Close()
	buf := make([]byte, procfs.MaxCmdline)
	var p Process
	b.ReportAllocs()
	for b.Loop() {
		readCgroup(d, buf, nil, &p)
	}
}
