package trace

import (
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/gohogs/gohogs/procmap"
)

// namingResolver is a fakeResolver that learns container names later, as
// *procmap.Resolver does.
type namingResolver struct {
	fakeResolver
	names   sync.Map // container id → name
	askedMu sync.Mutex
	asked   int
}

func (r *namingResolver) ContainerName(c procmap.Container) string {
	r.askedMu.Lock()
	r.asked++
	r.askedMu.Unlock()
	if n, ok := r.names.Load(c.ID); ok {
		return n.(string)
	}
	return ""
}

// TestRowContainer: a process row carries its process's cgroup, unit and
// container, and the container's name once the resolver knows it.
func TestRowContainer(t *testing.T) {
	bubble(t, func(t *testing.T) {
		const id = "9a826d2c6ac699a5619fbc83cd0f3e21c405523829ac96af302ce2df1a701a08"
		boxed := &procmap.Process{PID: 300, StartTime: 9, Name: "/bin/busybox", Cmdline: []string{"/bin/busybox", "nc"},
			Cgroup: "/libpod_parent/libpod-" + id, Container: procmap.Container{Runtime: procmap.RuntimePodman, ID: id}}
		svc := &procmap.Process{PID: 400, StartTime: 9, Name: "nginx", Cgroup: "/system.slice/nginx.service", Unit: "nginx.service"}
		res := &namingResolver{fakeResolver: fakeResolver{by: map[netip.AddrPort]*procmap.Process{
			netip.AddrPortFrom(hostA, 40000): boxed, netip.AddrPortFrom(hostA, 80): svc,
		}}}
		a := New(Config{Locals: localSet{hostA: true}, Resolver: res}, t0)
		defer a.Close()
		a.Packet(tcpFlow(hostA, hostB, 40000, 80, 1000))
		a.Packet(tcpFlow(hostA, hostB, 80, 5000, 2000))
		waitResolved(t, a, 2)
		rows := rowsByName(a.Refresh(t0.Add(time.Second)))
		b, n := rows["/bin/busybox"], rows["nginx"]
		if b.Cgroup != boxed.Cgroup || b.Unit != "" || b.Container != boxed.Container || b.Sent != 1000 {
			t.Errorf("container row %+v", b)
		}
		if n.Cgroup != svc.Cgroup || n.Unit != "nginx.service" || n.Container != (procmap.Container{}) {
			t.Errorf("service row %+v", n)
		}
		if rows["unknown TCP"].Container != (procmap.Container{}) {
			t.Errorf("unknown row %+v", rows["unknown TCP"])
		}
		// The runtime names it: the next refresh says so; the process's
		// own Container stays as it was read.
		res.names.Store(id, "web")
		rows = rowsByName(a.Refresh(t0.Add(2 * time.Second)))
		if c := rows["/bin/busybox"].Container; c.Name != "web" || c.ID != id || c.Runtime != procmap.RuntimePodman {
			t.Errorf("named: %+v", c)
		}
		if boxed.Container.Name != "" {
			t.Errorf("the Process changed: %+v", boxed.Container)
		}
		res.askedMu.Lock()
		if res.asked != 2 { // once per refresh, for the one container row
			t.Errorf("ContainerName called %d times, want 2", res.asked)
		}
		res.askedMu.Unlock()
	})
}
