package procmap

import (
	"net/netip"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gohogs/gohogs/internal/proccon"
	"github.com/gohogs/gohogs/internal/procfs"
	"golang.org/x/sys/unix"
)

// TestForkIdentity: a process forked by a shell (a subshell, which never
// execs) is given the shell's name, command line and uid, with its own
// start time, when the process connector reports its fork: after it
// exited and was reaped it is named so, as is a Resolver's read of it as a
// zombie. Without the fork event it is not named.
func TestForkIdentity(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("no /proc")
	}
	const name = "gohogs fork parent"
	// The subshell prints its pid and waits for a line; the shell then
	// waits for another.
	cmd := exec.Command("/bin/bash", "-c", `exec -a "$0" /bin/bash -c '( echo $BASHPID; read y ); read z'`, name)
	stdin, stdout := startPiped(t, cmd)
	defer func() { stdin.Close(); cmd.Process.Kill(); cmd.Wait() }()
	child, err := strconv.Atoi(strings.TrimSpace(firstLine(t, stdout, 10*time.Second)))
	if err != nil {
		t.Fatal(err)
	}
	proc := hostProc(t)
	startOf := func(pid int) uint64 {
		b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
		if err != nil {
			t.Fatal(err)
		}
		st, err := procfs.ParseStat(b)
		if err != nil {
			t.Fatal(err)
		}
		return st.StartTime
	}
	start := startOf(child)

	with, without := newConnEvents(nil), newConnEvents(nil)
	for _, c := range []*connEvents{with, without} {
		c.proc = proc
		c.execReads.Store(true)
		c.forks.Store(true)
	}
	with.procEvent(proccon.Event{PID: child, TGID: child, Parent: cmd.Process.Pid})
	if n := with.counts().handed; n != 1 {
		t.Fatalf("%d identities handed, want 1", n)
	}
	// The Resolver's read of it as a zombie (its command line gone).
	r := &Resolver{conns: with}
	if p := r.conns.forked(child, start); p == nil || p.Name != name {
		t.Fatalf("forked(%d) = %+v", child, p)
	}
	if p := r.conns.forked(child, start+1); p != nil {
		t.Fatalf("another start time named %+v", p)
	}

	stdin.Write([]byte("y\n")) // the subshell exits; the shell reaps it
	if !eventually(t, 5*time.Second, func() bool { _, err := os.Stat("/proc/" + strconv.Itoa(child)); return err != nil }) {
		t.Fatalf("subshell %d still there", child)
	}
	p, _ := with.readIdentity(child)
	if p == nil || p.PID != child || p.StartTime != start || p.Name != name || p.UID != uint32(os.Getuid()) ||
		!slices.Equal(p.Cmdline, []string{name, "-c", "( echo $BASHPID; read y ); read z"}) {
		t.Fatalf("reaped subshell named %+v", p)
	}
	if p, _ := without.readIdentity(child); p != nil {
		t.Fatalf("without its fork event, named %+v", p)
	}
	// A kernel thread's fork (an empty command line) hands nothing over.
	with.procEvent(proccon.Event{PID: cmd.Process.Pid, TGID: cmd.Process.Pid, Parent: 2}) // a live process, as if kthreadd forked it
	if n := with.counts().handed; n != 1 {
		t.Fatalf("%d identities handed after a kernel thread's fork, want 1", n)
	}
}

// TestStaleIdentityBeforeExec: an identity remembered for a pid with the
// same start time but another command line was read before an exec whose
// event is not handled yet (ip netns exec: ip, in the host's namespace,
// then the program, in another): a read of the process does not return
// it, but what the process is now.
func TestStaleIdentityBeforeExec(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("no /proc")
	}
	c := newConnEvents(nil)
	c.proc = hostProc(t)
	ch := startChild(t, "gohogs after exec", "udp", -1)
	pid := ch.cmd.Process.Pid
	now, netns := c.readIdentity(pid)
	if now == nil {
		t.Fatal("child not read")
	}
	stale := *now
	stale.Name, stale.Cmdline = "ip", []string{"ip", "netns", "exec", "x", "prog"}
	c.idsMu.Lock()
	c.ids[pid] = connIdentity{proc: &stale, netns: netns + 1, when: time.Now()}
	c.idsMu.Unlock()
	if p, ns := c.readIdentity(pid); p == nil || p.Name != "gohogs after exec" || ns != netns {
		t.Fatalf("read %+v in %d, want the exec'd program in %d", p, ns, netns)
	}
}

// TestForkIdentityOfGoneChild: a child already gone when its fork event
// is handled (the connector's reader ran late) is given its parent's
// identity with the start time of its fork event; an event whose
// identity read found it gone names it once that identity is there, but
// not a process started after the event (a reused pid).
func TestForkIdentityOfGoneChild(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("no /proc")
	}
	c := newConnEvents(func(int) (*Process, uint64) { return nil, 0 }) // every read: gone
	c.proc = hostProc(t)
	c.execReads.Store(true)
	c.forks.Store(true)
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		t.Fatal(err)
	}
	const gone = 1<<22 + 12345 // beyond pid_max's default: no such process
	// The connect event, read first: its process is gone.
	f := Flow{Proto: 6, Local: netip.MustParseAddrPort("10.0.0.1:40000"), Remote: netip.MustParseAddrPort("10.0.0.2:80")}
	now := time.Now()
	c.mu.Lock()
	c.conns.put(flowConnKey(f), connInfo{id: c.identFor(gone, now)}, now)
	c.mu.Unlock()
	if p, ok := lookup(t, c, f, 0, now); ok {
		t.Fatalf("named %+v before the fork event", p)
	}
	c.procEvent(proccon.Event{PID: gone, TGID: gone, Parent: os.Getpid(), Time: uint64(ts.Nano())})
	p, ok := lookup(t, c, f, 0, now)
	self, _ := c.readIdentity(os.Getpid())
	if !ok || p.PID != gone || p.Name != self.Name {
		t.Fatalf("after the fork event: %+v %v, want pid %d named %q", p, ok, gone, self.Name)
	}
	if boot := procfs.BootTicks(); p.StartTime+2 < boot || p.StartTime > boot { // stamped just now
		t.Errorf("start time %d ticks, now %d", p.StartTime, boot)
	}
	// The pid given to a process started a second after the event.
	c.idsMu.Lock()
	later := *p
	later.StartTime += 100
	c.ids[gone] = connIdentity{proc: &later, when: time.Now()}
	c.idsMu.Unlock()
	if p, ok := lookup(t, c, f, 0, now); ok {
		t.Fatalf("a later process of the same pid named the event: %+v", p)
	}
}
