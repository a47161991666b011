package gohogs_test

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netlink"

	"github.com/gohogs/gohogs"
	"github.com/gohogs/gohogs/internal/netns"
	"github.com/gohogs/gohogs/internal/netnstest"
	"github.com/gohogs/gohogs/internal/podmantest"
	"github.com/gohogs/gohogs/trace"
)

// TestPodmanContainer: a real container (podman, runc, its default bridge
// network with NAT) runs busybox nc, which uploads 3 MB to a server in a
// namespace of the test's own behind the host's namespace (this test's:
// the host's root namespace here). Two Monitors watch at once: one the
// uplink to that namespace (every packet masqueraded), one the uplink, the
// bridge and the container's veth (each packet captured three times). Both
// credit nc, in the container, with the bytes the uplink carried: no
// double count. nc is the row's pid: alive when checked, running busybox
// nc in the container's network and pid namespaces.
func TestPodmanContainer(t *testing.T) {
	netnstest.Skip(t)
	pm := podmantest.New(t) // removes the container too, if it is still there
	img := pm.Image(t, nil)
	peer := netnstest.NewHostPeer(t)

	// The server in the peer namespace reads natBytes, then waits for EOF.
	var ln net.Listener
	if err := netnstest.Do(peer.NS, func() (err error) {
		ln, err = net.Listen("tcp", netip.AddrPortFrom(peer.AddrPeer4, 0).String())
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	got := netnstest.DiscardN(ln, natBytes, 60*time.Second)
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)

	// The container: says it is up, waits for a line, uploads natBytes,
	// keeps nc's stdin open until a second line, then exits.
	name, cmd := pm.Interactive(img, "/bin/sh", "-c",
		"echo up; read go; (busybox head -c "+strconv.Itoa(natBytes)+" /dev/zero; read done) | busybox nc "+
			peer.AddrPeer4.String()+" "+port+"; echo bye")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	defer stdin.Close()
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	lines := make(chan string, 8)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
		exited <- cmd.Wait()
	}()
	t.Cleanup(func() { cmd.Process.Kill() })
	waitLine := func(want string, limit time.Duration) {
		t.Helper()
		deadline := time.After(limit)
		for {
			select {
			case l := <-lines:
				if l == want {
					return
				}
			case err := <-exited:
				t.Fatalf("the container exited before saying %q: %v", want, err)
			case <-deadline:
				t.Fatalf("the container did not say %q within %v", want, limit)
			}
		}
	}
	waitLine("up", 60*time.Second)

	// The container's namespaces, and its veth on the host.
	pidText, err := pm.Inspect(name, "{{.State.Pid}}")
	if err != nil {
		t.Fatal(err)
	}
	initPID, _ := strconv.Atoi(pidText)
	netNS, err := netns.Inode(fmt.Sprintf("/proc/%d/ns/net", initPID))
	if err != nil {
		t.Fatal(err)
	}
	pidNS, err := netns.Inode(fmt.Sprintf("/proc/%d/ns/pid", initPID))
	if err != nil {
		t.Fatal(err)
	}
	veth, bridge := containerVeth(t, initPID)
	t.Logf("container %s: pid %d, netns %d, veth %s on %s; peer %s at %v", name, initPID, netNS, veth, bridge, peer.NS, peer.AddrPeer4)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	opts := gohogs.Options{Interval: 250 * time.Millisecond, Backend: testBackend(t)}
	opts.Interfaces = []string{peer.IfHost}
	up, err := gohogs.Open(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer up.Close()
	opts.Interfaces = []string{peer.IfHost, bridge, veth}
	all, err := gohogs.Open(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer all.Close()
	cu, ca := collect(ctx, up), collect(ctx, all)
	cu.waitPast(t, time.Time{}, 5*time.Second)
	ca.waitPast(t, time.Time{}, 5*time.Second)
	before, err := netnstest.ReadCounters("", peer.IfHost)
	if err != nil {
		t.Fatal(err)
	}

	fmt.Fprintln(stdin, "go")
	select {
	case n := <-got:
		if n != natBytes {
			t.Fatalf("the peer received %d bytes, want %d", n, natBytes)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the peer did not receive the upload within 30 s")
	}
	after, err := netnstest.ReadCounters("", peer.IfHost)
	if err != nil {
		t.Fatal(err)
	}
	d := after.Sub(before)
	wire := d.TxBytes + d.RxBytes

	for _, m := range []struct {
		name string
		c    *collector
		mon  *gohogs.Monitor
	}{{"uplink", cu, up}, {"uplink+bridge+veth", ca, all}} {
		row := ncRow(t, m.c, wire, peer.AddrPeer4.String(), port)
		t.Logf("%s: nc row pid %d sent %d recv %d; uplink frames %d; stats %+v; resolver forwarded %d, NAT %d/%d lookups, %d namespaces",
			m.name, row.PID, row.TotalSent, row.TotalRecv, wire, m.mon.Stats().Accounting,
			m.mon.Stats().Resolver.Forwarded, m.mon.Stats().Resolver.NATTranslated, m.mon.Stats().Resolver.NATLookups,
			m.mon.Stats().Resolver.Namespaces)
		if row.TotalSent < natBytes || row.TotalSent > natBytes*130/100 {
			t.Errorf("%s: nc sent %d bytes of frames for its %d-byte upload, want within [1, 1.30] of it", m.name, row.TotalSent, natBytes)
		}
		if tot := row.TotalSent + row.TotalRecv; tot > wire || tot+natSlack < wire {
			t.Errorf("%s: nc has %d bytes, the uplink carried %d frame bytes (want equal, %d of them may be no TCP)", m.name, tot, wire, natSlack)
		}
		for _, ns := range []struct {
			kind string
			want uint64
		}{{"net", netNS}, {"pid", pidNS}} {
			if ino, err := netns.Inode(fmt.Sprintf("/proc/%d/ns/%s", row.PID, ns.kind)); err != nil || ino != ns.want {
				t.Errorf("%s: the row's pid %d is in %s namespace %d (%v), not the container's %d", m.name, row.PID, ns.kind, ino, err, ns.want)
			}
		}
	}
	fmt.Fprintln(stdin, "done")
	waitLine("bye", 30*time.Second)
}

// ncRow waits (at most 15 s) until a row of c running "busybox nc HOST
// PORT" holds at least wire-natSlack bytes in total, then for two more
// refreshes, and returns its last state.
func ncRow(t *testing.T, c *collector, wire uint64, host, port string) trace.Row {
	t.Helper()
	find := func() (trace.Row, bool) {
		c.mu.Lock()
		defer c.mu.Unlock()
		var last trace.Row
		ok := false
		for _, s := range c.snaps {
			for _, r := range s.Rows {
				if r.Kind == trace.KindProcess && strings.Join(r.Cmdline, " ") == "busybox nc "+host+" "+port {
					last, ok = r, true
				}
			}
		}
		return last, ok
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		if r, ok := find(); ok && r.TotalSent+r.TotalRecv+natSlack >= wire {
			break
		}
		if time.Now().After(deadline) {
			r, ok := find()
			c.mu.Lock()
			for _, s := range c.snaps[max(0, len(c.snaps)-3):] {
				t.Logf("refresh %d: %+v unknown %v", s.Seq, s.Rows, s.UnknownConns)
			}
			c.mu.Unlock()
			t.Fatalf("no nc row with %d bytes within 15 s (found %v: %+v)", wire, ok, r)
		}
		c.waitPast(t, time.Now(), 5*time.Second)
	}
	c.waitPast(t, time.Now(), 5*time.Second)
	c.waitPast(t, time.Now(), 5*time.Second)
	r, _ := find()
	return r
}

// containerVeth returns the host's end of the veth of the container whose
// init is pid, and the bridge it is enslaved to.
func containerVeth(t *testing.T, pid int) (veth, bridge string) {
	t.Helper()
	id, err := netlink.GetNetNsIdByPid(pid)
	if err != nil || id < 0 {
		t.Fatalf("the container's namespace has no id here: %v", err)
	}
	links, err := netlink.LinkList()
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range links {
		if a := l.Attrs(); a.NetNsID == id && a.MasterIndex != 0 {
			m, err := netlink.LinkByIndex(a.MasterIndex)
			if err != nil {
				t.Fatal(err)
			}
			return a.Name, m.Attrs().Name
		}
	}
	t.Fatalf("no veth on a bridge leads to the container's namespace (nsid %d)", id)
	return "", ""
}
