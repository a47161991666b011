package procmap

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gohogs/gohogs/internal/tracefs"
)

const childEnv = "GOHOGS_PROCMAP_CHILD"

// TestMain turns the test binary into a helper child process when childEnv
// is set: it opens sockets, prints their addresses, and waits for stdin to
// close.
func TestMain(m *testing.M) {
	if mode := os.Getenv(childEnv); mode != "" {
		os.Exit(childMain(mode))
	}
	os.Exit(m.Run())
}

func childMain(mode string) int {
	if u := os.Getenv(childEnv + "_UID"); u != "" {
		uid, _ := strconv.Atoi(u)
		if err := syscall.Setgid(uid); err != nil {
			fmt.Println("setgid:", err)
			return 1
		}
		if err := syscall.Setuid(uid); err != nil {
			fmt.Println("setuid:", err)
			return 1
		}
	}
	switch mode {
	case "tcp":
		ln, err := net.Listen("tcp4", "127.0.0.1:0")
		if err != nil {
			fmt.Println("listen:", err)
			return 1
		}
		c, err := net.Dial("tcp4", ln.Addr().String())
		if err != nil {
			fmt.Println("dial:", err)
			return 1
		}
		s, err := ln.Accept()
		if err != nil {
			fmt.Println("accept:", err)
			return 1
		}
		fmt.Printf("ok %s %s\n", c.LocalAddr(), s.LocalAddr())
		io.Copy(io.Discard, os.Stdin)
		c.Close()
		s.Close()
		ln.Close()
	case "udp":
		pc, err := net.ListenPacket("udp", ":0")
		if err != nil {
			fmt.Println("listen:", err)
			return 1
		}
		var st syscall.Stat_t
		rc, _ := pc.(*net.UDPConn).SyscallConn()
		rc.Control(func(fd uintptr) { syscall.Fstat(int(fd), &st) })
		fmt.Printf("ok %s %d\n", pc.LocalAddr(), st.Ino)
		io.Copy(io.Discard, os.Stdin)
		pc.Close()
	case "shortconn":
		// N short connections: connect, 1 byte out, wait for 1 byte back,
		// close.
		n, _ := strconv.Atoi(os.Getenv(childEnv + "_N"))
		addr := os.Getenv(childEnv + "_ADDR")
		buf := make([]byte, 1)
		for i := 0; i < n; i++ {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				fmt.Println("dial:", err)
				return 1
			}
			c.SetDeadline(time.Now().Add(5 * time.Second))
			if _, err := c.Write([]byte{'x'}); err != nil {
				fmt.Println("write:", err)
				return 1
			}
			if _, err := io.ReadFull(c, buf); err != nil {
				fmt.Println("read:", err)
				return 1
			}
			c.Close()
		}
		fmt.Println("ok done")
		io.Copy(io.Discard, os.Stdin)
	case "udp6send":
		// Three datagrams to _ADDR from an IPv6 UDP socket, unconnected
		// (sendto) or connected (_CONNECT=1), each saying this process's
		// pid; then exit at once, printing nothing.
		addr, err := net.ResolveUDPAddr("udp6", os.Getenv(childEnv+"_ADDR"))
		if err != nil {
			fmt.Fprintln(os.Stderr, "addr:", err)
			return 1
		}
		msg := []byte(strconv.Itoa(os.Getpid()))
		if os.Getenv(childEnv+"_CONNECT") == "1" {
			c, err := net.DialUDP("udp6", nil, addr)
			if err != nil {
				fmt.Fprintln(os.Stderr, "dial:", err)
				return 1
			}
			for i := 0; i < 3; i++ {
				c.Write(msg)
			}
			return 0
		}
		pc, err := net.ListenUDP("udp6", nil)
		if err != nil {
			fmt.Fprintln(os.Stderr, "listen:", err)
			return 1
		}
		for i := 0; i < 3; i++ {
			pc.WriteToUDP(msg, addr)
		}
		return 0
	case "udp6spawn":
		// _N udp6send processes named _ARGV0 started at once (every other
		// one connected), each waited for (at most 10 s); then "ok" and
		// their pids, with ":c" for the connected ones.
		n, _ := strconv.Atoi(os.Getenv(childEnv + "_N"))
		self, err := os.Executable()
		if err != nil {
			fmt.Println("executable:", err)
			return 1
		}
		pids := make([]string, n)
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				cmd := exec.Command(self)
				cmd.Args = []string{os.Getenv(childEnv + "_ARGV0")}
				conn := strconv.Itoa(i % 2)
				cmd.Env = append(os.Environ(), childEnv+"=udp6send", childEnv+"_CONNECT="+conn)
				cmd.Stderr = os.Stderr
				if errs[i] = cmd.Start(); errs[i] != nil {
					return
				}
				pids[i] = strconv.Itoa(cmd.Process.Pid) + map[string]string{"0": "", "1": ":c"}[conn]
				t := time.AfterFunc(10*time.Second, func() { cmd.Process.Kill() })
				errs[i] = cmd.Wait()
				t.Stop()
			}()
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				fmt.Printf("sender %d: %v\n", i, err)
				return 1
			}
		}
		fmt.Println("ok " + strings.Join(pids, " "))
		io.Copy(io.Discard, os.Stdin)
	case "notracefs":
		// In a mount namespace of its own: without tracefs, a Resolver
		// with default Options mounts nothing and runs without connect
		// events; with MountTracefs it mounts tracefs and runs them.
		if err := unmountTracing(); err != nil {
			fmt.Println("umount:", err)
			return 1
		}
		before, _ := os.ReadFile("/proc/self/mountinfo")
		r, err := New(Options{})
		if err != nil {
			fmt.Println("new:", err)
			return 1
		}
		st := r.Stats()
		why := st.ConnEventsErr
		if r.conns != nil || !errors.Is(st.ConnEventsErr, tracefs.ErrNotMounted) {
			fmt.Printf("connect events without tracefs: running %v, error %v\n", r.conns != nil, st.ConnEventsErr)
			return 1
		}
		pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
		if err != nil {
			fmt.Println("listen:", err)
			return 1
		}
		own, err := r.Resolve(Flow{Proto: 17, Local: ap(pc.LocalAddr()), Remote: netip.MustParseAddrPort("127.0.0.1:9")})
		if err != nil || own.Process == nil || own.Process.PID != os.Getpid() {
			fmt.Println("resolve own:", own, err)
			return 1
		}
		if err := r.Close(); err != nil {
			fmt.Println("close:", err)
			return 1
		}
		if after, _ := os.ReadFile("/proc/self/mountinfo"); !bytes.Equal(before, after) {
			fmt.Printf("mounts changed:\n%s\nthen\n%s\n", before, after)
			return 1
		}
		r, err = New(Options{MountTracefs: true})
		if err != nil {
			fmt.Println("new with MountTracefs:", err)
			return 1
		}
		st = r.Stats()
		dir, ferr := tracefs.Find("")
		if r.conns == nil || st.ConnEventsErr != nil || ferr != nil {
			fmt.Printf("with MountTracefs: running %v, error %v, tracefs %q %v\n", r.conns != nil, st.ConnEventsErr, dir, ferr)
			return 1
		}
		if err := r.Close(); err != nil {
			fmt.Println("close:", err)
			return 1
		}
		fmt.Printf("ok mounted %s; before: %v\n", dir, why)
		io.Copy(io.Discard, os.Stdin)
	case "resolve":
		// Resolve a flow given in the environment ("local remote"), and a
		// socket of this very process, with this process's privileges.
		f := strings.Fields(os.Getenv(childEnv + "_FLOW"))
		r, err := New(Options{})
		if err != nil {
			fmt.Println("new:", err)
			return 1
		}
		defer r.Close()
		o, err := r.Resolve(Flow{Proto: 6, Local: netip.MustParseAddrPort(f[0]), Remote: netip.MustParseAddrPort(f[1])})
		if err != nil {
			fmt.Println("resolve:", err)
			return 1
		}
		pid := 0
		if o.Process != nil {
			pid = o.Process.PID
		}
		pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
		if err != nil {
			fmt.Println("listen:", err)
			return 1
		}
		own, err := r.Resolve(Flow{Proto: 17, Local: pc.LocalAddr().(*net.UDPAddr).AddrPort(), Remote: netip.MustParseAddrPort("127.0.0.1:9")})
		if err != nil || own.Process == nil {
			fmt.Println("resolve own:", own, err)
			return 1
		}
		fmt.Printf("ok %d %d %d %d %d %d\n", o.Inode, o.UID, pid, own.Process.PID, own.UID, r.Stats().Unreadable)
	default:
		fmt.Println("unknown mode", mode)
		return 1
	}
	return 0
}

// child is a running helper process.
type child struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	fields []string // the words after "ok"
}

// startChild starts the test binary as a helper named argv0 in mode, as uid
// (if uid >= 0), through wrap (e.g. "ip netns exec NS") if given, and waits
// (at most 10 s) for its "ok" line.
func startChild(t *testing.T, argv0, mode string, uid int, wrap ...string) *child {
	t.Helper()
	return startChildEnv(t, argv0, mode, uid, nil, wrap...)
}

// startChildEnv is startChild with more environment variables.
func startChildEnv(t *testing.T, argv0, mode string, uid int, env []string, wrap ...string) *child {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	var cmd *exec.Cmd
	if len(wrap) > 0 {
		// exec -a sets argv[0] through the wrapper.
		args := append(wrap[1:], "/bin/bash", "-c", `exec -a "$0" "$1"`, argv0, self)
		cmd = exec.Command(wrap[0], args...)
	} else {
		cmd = exec.Command(self)
		cmd.Args = []string{argv0}
	}
	cmd.Env = append(append(os.Environ(), env...), childEnv+"="+mode)
	if uid >= 0 {
		cmd.Env = append(cmd.Env, childEnv+"_UID="+strconv.Itoa(uid))
	}
	cmd.Stderr = os.Stderr
	stdin, stdout := startPiped(t, cmd)
	c := &child{cmd: cmd, stdin: stdin}
	t.Cleanup(func() {
		stdin.Close()
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	})
	s := firstLine(t, stdout, 20*time.Second)
	f := strings.Fields(s)
	if len(f) == 0 || f[0] != "ok" {
		t.Fatalf("child %s: %q", mode, s)
	}
	c.fields = f[1:]
	return c
}

// startPiped starts cmd with a pipe to its stdin and one from its stdout.
func startPiped(t *testing.T, cmd *exec.Cmd) (io.WriteCloser, io.Reader) {
	t.Helper()
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return stdin, stdout
}

// firstLine returns the first line r gives (what it gave by EOF), waiting
// at most limit.
func firstLine(t *testing.T, r io.Reader, limit time.Duration) string {
	t.Helper()
	line := make(chan string, 1)
	go func() {
		s, _ := bufio.NewReader(r).ReadString('\n')
		line <- s
	}()
	select {
	case s := <-line:
		return s
	case <-time.After(limit):
		t.Fatalf("no line in %v", limit)
		return ""
	}
}

// stop ends the child and waits (at most 5 s) for it to exit.
func (c *child) stop(t *testing.T) {
	t.Helper()
	c.stdin.Close()
	done := make(chan error, 1)
	go func() { done <- c.cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("child did not exit in 5 s")
	}
}

// unmountTracing unmounts every tracefs and debugfs this process sees,
// last mounted first (in the child's own mount namespace only).
func unmountTracing() error {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return err
	}
	var dirs []string
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Fields(l)
		for i, x := range f {
			if x == "-" && i+1 < len(f) && i >= 5 && (f[i+1] == "tracefs" || f[i+1] == "debugfs") {
				dirs = append(dirs, strings.ReplaceAll(f[4], `\040`, " "))
			}
		}
	}
	for i := len(dirs) - 1; i >= 0; i-- {
		if err := syscall.Unmount(dirs[i], syscall.MNT_DETACH); err != nil && !errors.Is(err, syscall.EINVAL) {
			return fmt.Errorf("%s: %w", dirs[i], err)
		}
	}
	return nil
}
