package procmap

import (
	"errors"
	"io"
	"net"
	"net/netip"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/gohogs/gohogs/internal/procfs"
)

// inodeOf returns the inode of the socket behind a net.Conn/Listener/PacketConn.
func inodeOf(t *testing.T, c any) uint64 {
	t.Helper()
	sc, ok := c.(syscall.Conn)
	if !ok {
		t.Fatalf("%T has no SyscallConn", c)
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var st syscall.Stat_t
	var serr error
	if err := rc.Control(func(fd uintptr) { serr = syscall.Fstat(int(fd), &st) }); err != nil {
		t.Fatal(err)
	}
	if serr != nil {
		t.Fatal(serr)
	}
	return st.Ino
}

func ap(a net.Addr) netip.AddrPort {
	switch v := a.(type) {
	case *net.TCPAddr:
		return v.AddrPort()
	case *net.UDPAddr:
		return v.AddrPort()
	}
	panic("unknown addr type")
}

func newLive(t *testing.T, opts Options) *Resolver {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root (sock_diag of every socket, other processes' fds)")
	}
	r, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// mustResolve resolves f and checks the socket inode and (if pid != 0) the pid.
func mustResolve(t *testing.T, r *Resolver, f Flow, inode uint64, pid int) Owner {
	t.Helper()
	o, err := r.Resolve(f)
	if err != nil {
		t.Fatalf("Resolve(%+v): %v", f, err)
	}
	if o.Inode != inode {
		t.Fatalf("Resolve(%+v): inode %d, want %d", f, o.Inode, inode)
	}
	if pid != 0 {
		if o.Process == nil {
			t.Fatalf("Resolve(%+v): no process, want pid %d", f, pid)
		}
		if o.Process.PID != pid {
			t.Fatalf("Resolve(%+v): pid %d, want %d", f, o.Process.PID, pid)
		}
	}
	return o
}

func mustNotFound(t *testing.T, r *Resolver, f Flow) {
	t.Helper()
	o, err := r.Resolve(f)
	if !errors.Is(err, ErrNotFound) {
		t.Fatalf("Resolve(%+v) = %+v, %v; want ErrNotFound", f, o, err)
	}
}

// hostProc is the host's /proc.
func hostProc(t testing.TB) procfs.FS {
	t.Helper()
	p, err := procfs.NewFS("/proc")
	if err != nil {
		t.Skip(err)
	}
	return p
}

// eventually waits until cond holds, polling it, at most d; it reports
// whether cond held.
func eventually(t *testing.T, d time.Duration, cond func() bool) bool {
	t.Helper()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(d)
	for !cond() {
		select {
		case <-tick.C:
		case <-deadline:
			return cond()
		}
	}
	return true
}

// listen listens on addr (network tcp4 or tcp6) until the test ends.
func listen(t testing.TB, network, addr string) net.Listener {
	t.Helper()
	ln, err := net.Listen(network, addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln
}

// serveShort serves n short connections on ln, one after the other, as
// the "shortconn" child makes them: it reads the client's byte, calls fn
// with the client's end of the flow, answers and closes. The function it
// returns waits for the server to end (after n connections, or ln closed).
func serveShort(t *testing.T, ln net.Listener, n int, fn func(client Flow)) (wait func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; i < n; i++ {
			s, err := ln.Accept()
			if err != nil {
				return
			}
			s.SetDeadline(time.Now().Add(5 * time.Second))
			b := make([]byte, 1)
			io.ReadFull(s, b)
			fn(Flow{Proto: 6, Local: ap(s.RemoteAddr()), Remote: ap(s.LocalAddr())})
			s.Write(b)
			s.Close()
		}
	}()
	return func() { <-done }
}

// loopbackConn returns a loopback TCP listener and a connection to it (not
// accepted), both closed when the test ends.
func loopbackConn(t testing.TB) (net.Listener, net.Conn) {
	t.Helper()
	ln := listen(t, "tcp4", "127.0.0.1:0")
	c, err := net.Dial("tcp4", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return ln, c
}
