package main

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gohogs/gohogs/internal/netnstest"
)

// children returns the pids of pid's children (host pids), waiting (5 s
// at most) until it has n.
func children(t *testing.T, pid, n int) []int {
	t.Helper()
	var out []int
	if !poll(5*time.Second, func() bool {
		b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", pid, pid))
		out = out[:0]
		for _, f := range strings.Fields(string(b)) {
			c, _ := strconv.Atoi(f)
			out = append(out, c)
		}
		return len(out) >= n
	}) {
		t.Fatalf("process %d has children %v after 5 s, want %d", pid, out, n)
	}
	return out
}

// nsPID is the pid of host process pid in the innermost pid namespace it
// is in (the last field of NSpid).
func nsPID(t *testing.T, pid int) int {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "NSpid:"); ok {
			f := strings.Fields(v)
			n, _ := strconv.Atoi(f[len(f)-1])
			return n
		}
	}
	t.Fatalf("no NSpid in /proc/%d/status", pid)
	return 0
}

// checkPIDs checks a run's refreshes against the clients that sent: want
// maps each client's pid, as the /proc gohogs reads shows it, to its
// payload. Each has rows of that pid, named prog, that sent its payload and
// its headers (+6% at most); no other process row has bytes. It returns
// the bytes sent by the rows without a pid.
func checkPIDs(t *testing.T, refs []jsonRefresh, want map[int]uint64, prog string) (pidless uint64) {
	t.Helper()
	got := map[int]uint64{}
	for _, r := range refs {
		for _, row := range r.Rows {
			if row.Kind != "process" {
				pidless += row.Sent
				continue
			}
			got[row.PID] += row.Sent
			if _, ok := want[row.PID]; ok && row.Name != prog {
				t.Errorf("refresh %d: pid %d named %q, want %q", r.Seq, row.PID, row.Name, prog)
			}
		}
	}
	t.Logf("sent per pid %v, without a pid %d", got, pidless)
	for pid, n := range got {
		payload, ok := want[pid]
		switch {
		case !ok && n > 0:
			t.Errorf("pid %d credited %d bytes: not a client's pid in the /proc gohogs reads", pid, n)
		case ok && (n < payload || float64(n) > float64(payload)*1.06):
			t.Errorf("pid %d sent %d, want its %d bytes of payload and their headers (+6%%)", pid, n, payload)
		}
	}
	for pid := range want {
		if _, ok := got[pid]; !ok {
			t.Errorf("no row of pid %d", pid)
		}
	}
	return pidless
}

// TestPIDNamespaceRows runs gohogs in a pid namespace of its own, as in a
// container. With that namespace's own /proc (unshare --mount-proc), a
// client on the host, pid H, uploads while a decoy in the namespace has
// the namespace's pid H too: the connect events would name the decoy,
// the wrong process. They are off (gohogs says so on stderr), the host
// client's bytes go to rows without a pid, and only the client inside the
// namespace is a process row, under its pid there, with its bytes. With
// the host's /proc bound elsewhere and given with --proc (as a container
// given -v /proc:/host/proc has it), both clients are rows under their host
// pids, and nothing is said.
func TestPIDNamespaceRows(t *testing.T) {
	netnstest.Skip(t)
	for _, c := range []string{"unshare", "nsenter"} {
		if _, err := exec.LookPath(c); err != nil {
			t.Skipf("needs %s (util-linux)", c)
		}
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	for _, ownProc := range []bool{true, false} {
		t.Run(map[bool]string{true: "own-proc", false: "host-proc"}[ownProc], func(t *testing.T) {
			p, s := pairWithSink(t, "tcp", "4")
			// The host client: pid H, waiting for a line before it execs
			// the traffic generator (same pid).
			host := exec.Command("ip", "netns", "exec", p.NSA, "sh", "-c", `read x; exec "$0"`, self)
			host.Env = append(os.Environ(), "GOHOGS_TRAFFIC=tcp "+s.addr+" 600000 300000")
			trigger, err := host.StdinPipe()
			if err != nil {
				t.Fatal(err)
			}
			hostOut := newOutput()
			host.Stdout, host.Stderr = hostOut, hostOut
			if err := host.Start(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { host.Process.Kill(); host.Wait() })
			h := host.Process.Pid

			// gohogs as pid 1 of a new pid namespace with its own /proc
			// (and mount namespace), in A. Either a decoy gets the
			// namespace's pid H first, or the host's /proc is bound
			// elsewhere before the namespace's is mounted, as a container
			// given -v /proc:/host/proc has it.
			script := `echo $1 > /proc/sys/kernel/ns_last_pid; sleep 60 & exec "$0" --json -d 0.5 --duration 8s "$2"`
			args := []string{"--pid", "--fork", "--mount-proc"}
			hostProc := t.TempDir()
			if !ownProc {
				script = `mount --bind /proc "$3" && mount -t proc proc /proc && exec "$0" --json -d 0.5 --duration 8s --proc "$3" "$2"`
				args = []string{"--pid", "--fork", "--mount", "--propagation", "private"}
			}
			args = append(args, "sh", "-c", script, gohogsBin, strconv.Itoa(h-1), p.IfA, hostProc)
			run := startIn(t, p.NSA, "unshare", args...)
			run.waitStdout(t, "\n") // the first refresh
			init := children(t, run.cmd.Process.Pid, 1)[0]
			if ownProc {
				decoy := children(t, init, 1)[0]
				if got := nsPID(t, decoy); got != h {
					t.Fatalf("the decoy's pid in the namespace is %d, not the host client's %d", got, h)
				}
			}
			io.WriteString(trigger, "go\n")
			// The client inside the namespace.
			inside := exec.Command("nsenter", "-t", strconv.Itoa(init), "-p", "-n", self)
			inside.Env = append(os.Environ(), "GOHOGS_TRAFFIC=tcp "+s.addr+" 2000000 1000000")
			inOut := newOutput()
			inside.Stdout, inside.Stderr = inOut, inOut
			if err := inside.Start(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { inside.Process.Kill(); inside.Wait() })
			inHost := children(t, inside.Process.Pid, 1)[0]
			inNS := nsPID(t, inHost)
			for range 2 {
				select {
				case <-s.got:
				case <-time.After(30 * time.Second):
					t.Fatalf("the uploads did not end in 30 s: host client %q, inside %q", hostOut, inOut)
				}
			}
			if err := host.Wait(); err != nil {
				t.Fatalf("host client: %v: %s", err, hostOut)
			}
			if err := inside.Wait(); err != nil {
				t.Fatalf("client inside: %v: %s", err, inOut)
			}
			refs := parseJSONLines(t, run.wait(t, 20*time.Second))

			want := map[int]uint64{inNS: 2_000_000}
			if !ownProc {
				want = map[int]uint64{h: 600_000, inHost: 2_000_000}
			}
			t.Logf("host client %d, inside %d (host pid %d); stderr: %s", h, inNS, inHost, run.stderr)
			pidless := checkPIDs(t, refs, want, self)
			warned := strings.Contains(run.stderr.String(), "not those of the initial one")
			if ownProc && (!warned || pidless < 600_000) {
				t.Errorf("own /proc: warning %v, %d bytes without a pid (want the host client's 600000 and more)", warned, pidless)
			}
			if !ownProc && warned {
				t.Errorf("the host's /proc: warned: %s", run.stderr)
			}
		})
	}
}
