package procmap

import (
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gohogs/gohogs/internal/proccon"
	"github.com/gohogs/gohogs/internal/procfs"
	"github.com/gohogs/gohogs/internal/proctable"
)

// buildBigFixture writes a proc tree with nproc processes holding nsock
// socket fds in total (plus 3 non-socket fds each) and a /proc/net/tcp with
// one established row per socket.
func buildBigFixture(b *testing.B, nproc, nsock int) string {
	b.Helper()
	skipBigEndian(b)
	root := b.TempDir()
	var tcp strings.Builder
	tcp.WriteString("  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n")
	ino := 100000
	per := nsock / nproc
	for p := 0; p < nproc; p++ {
		pid := 1000 + p
		dir := filepath.Join(root, strconv.Itoa(pid))
		if err := os.MkdirAll(filepath.Join(dir, "fd"), 0o755); err != nil {
			b.Fatal(err)
		}
		os.MkdirAll(filepath.Join(dir, "ns"), 0o755)
		os.Symlink("net:[4026531840]", filepath.Join(dir, "ns", "net"))
		os.WriteFile(filepath.Join(dir, "stat"), fmt.Appendf(nil, "%d (proc %d) S 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 %d 1 1\n", pid, p, 5000+p), 0o644)
		os.WriteFile(filepath.Join(dir, "cmdline"), fmt.Appendf(nil, "/usr/bin/proc%d\x00--arg\x00", p), 0o644)
		os.WriteFile(filepath.Join(dir, "status"), []byte("Name:\tproc\nUid:\t1000\t1000\t1000\t1000\n"), 0o644)
		for fd := 0; fd < 3; fd++ {
			os.Symlink("/dev/pts/0", filepath.Join(dir, "fd", strconv.Itoa(fd)))
		}
		for s := 0; s < per; s++ {
			ino++
			if err := os.Symlink("socket:["+strconv.Itoa(ino)+"]", filepath.Join(dir, "fd", strconv.Itoa(3+s))); err != nil {
				b.Fatal(err)
			}
			fmt.Fprintf(&tcp, "%4d: 0A01A8C0:%04X 1401A8C0:%04X 01 00000000:00000000 00:00000000 00000000  1000        0 %d 1 0 100 0 0 10 0\n",
				ino-100000, 1024+ino%60000, 80, ino)
		}
	}
	os.MkdirAll(filepath.Join(root, "net"), 0o755)
	os.WriteFile(filepath.Join(root, "net", "tcp"), []byte(tcp.String()), 0o644)
	os.WriteFile(filepath.Join(root, "net", "tcp6"), []byte("  sl  local_address remote_address st\n"), 0o644)
	return root
}

// nethogsRefresh is nethogs's method on a miss: parse /proc/net/tcp{,6}
// into a map keyed by the connection, then read every /proc/*/fd link into
// an inode → pid map. It returns the number of sockets found in fds.
func nethogsRefresh(root string) (int, error) {
	conns := make(map[string]uint64)
	ents, _, err := proctable.ReadDir(root+"/net", 6, nil)
	if err != nil {
		return 0, err
	}
	for _, e := range ents {
		conns[e.Local.String()+"-"+e.Remote.String()] = e.Inode
	}
	inodePid := make(map[uint64]int)
	dirs, err := os.ReadDir(root)
	if err != nil {
		return 0, err
	}
	for _, d := range dirs {
		pid, err := strconv.Atoi(d.Name())
		if err != nil {
			continue
		}
		fdDir := root + "/" + d.Name() + "/fd"
		fds, err := os.ReadDir(fdDir)
		if err != nil {
			continue
		}
		for _, fd := range fds {
			l, err := os.Readlink(fdDir + "/" + fd.Name())
			if err != nil {
				continue
			}
			if v, ok := procfs.SocketInode([]byte(l)); ok {
				inodePid[v] = pid
			}
		}
	}
	return len(inodePid), nil
}

func BenchmarkFullRefreshFixture(b *testing.B) {
	root := buildBigFixture(b, 500, 10000)
	r, err := New(Options{ProcRoot: root, NoNetlink: true, NetNSDir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	r.mu.Lock()
	defer r.mu.Unlock()
	r.fullScan(time.Now())
	if len(r.inodes) != 10000 || len(r.procs) != 500 {
		b.Fatalf("indexed %d sockets of %d processes", len(r.inodes), len(r.procs))
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		r.fullScan(time.Now())
	}
}

func BenchmarkNethogsMethodFixture(b *testing.B) {
	root := buildBigFixture(b, 500, 10000)
	if n, err := nethogsRefresh(root); err != nil || n != 10000 {
		b.Fatalf("%d sockets, %v", n, err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		nethogsRefresh(root)
	}
}

// liveLoad opens npairs loopback TCP connections (2 sockets each) in this
// process and starts nproc sleeping processes, for benchmarks on the real
// /proc.
func liveLoad(b *testing.B, nproc, npairs int) {
	b.Helper()
	if os.Geteuid() != 0 {
		b.Skip("needs root")
	}
	ln := listen(b, "tcp4", "127.0.0.1:0")
	var conns []net.Conn
	b.Cleanup(func() {
		for _, c := range conns {
			c.Close()
		}
	})
	for i := 0; i < npairs; i++ {
		c, err := net.Dial("tcp4", ln.Addr().String())
		if err != nil {
			b.Fatal(err)
		}
		s, err := ln.Accept()
		if err != nil {
			b.Fatal(err)
		}
		conns = append(conns, c, s)
	}
	for i := 0; i < nproc; i++ {
		cmd := exec.Command("sleep", "600")
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	}
}

func BenchmarkFullRefreshLive(b *testing.B) {
	liveLoad(b, 500, 5000)
	r := newLiveB(b)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.fullScan(time.Now())
	if len(r.inodes) < 10000 || len(r.procs) < 500 {
		b.Fatalf("indexed %d sockets of %d processes", len(r.inodes), len(r.procs))
	}
	b.ReportMetric(float64(len(r.inodes)), "sockets")
	b.ReportMetric(float64(len(r.procs)), "procs")
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		r.fullScan(time.Now())
	}
}

func BenchmarkNethogsMethodLive(b *testing.B) {
	liveLoad(b, 500, 5000)
	if n, err := nethogsRefresh("/proc"); err != nil || n < 10000 {
		b.Fatalf("%d sockets, %v", n, err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		nethogsRefresh("/proc")
	}
}

func newLiveB(b *testing.B) *Resolver {
	b.Helper()
	r, err := New(Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { r.Close() })
	return r
}

// BenchmarkResolveNewFlow: a new loopback TCP connection per iteration
// (dialled with the timer stopped), resolved through sock_diag and the
// incremental index. With load, the machine also has 500 more processes
// and 10,000 more sockets.
func BenchmarkResolveNewFlow(b *testing.B) {
	for _, load := range []bool{false, true} {
		b.Run(map[bool]string{false: "idle", true: "loaded"}[load], func(b *testing.B) {
			if load {
				liveLoad(b, 500, 5000)
			}
			r := newLiveB(b)
			ln := listen(b, "tcp4", "127.0.0.1:0")
			go func() {
				for {
					c, err := ln.Accept()
					if err != nil {
						return
					}
					go func() { io.Copy(io.Discard, c); c.Close() }()
				}
			}()
			// Warm the index once.
			if _, err := r.Resolve(Flow{Proto: 6, Local: ap(ln.Addr()), Remote: mp("127.0.0.1:1")}); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			pid := os.Getpid()
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				c, err := net.Dial("tcp4", ln.Addr().String())
				if err != nil {
					b.Fatal(err)
				}
				f := Flow{Proto: 6, Local: ap(c.LocalAddr()), Remote: ap(c.RemoteAddr())}
				b.StartTimer()
				o, err := r.Resolve(f)
				b.StopTimer()
				if err != nil || o.Process == nil || o.Process.PID != pid {
					b.Fatalf("%+v %v", o, err)
				}
				c.Close()
				b.StartTimer()
			}
			b.StopTimer()
			st := r.Stats()
			b.ReportMetric(float64(st.FullScans)/float64(b.N), "fullscans/op")
		})
	}
}

// BenchmarkResolveKnownFlow: an established connection resolved again (one
// sock_diag round trip and an index hit).
func BenchmarkResolveKnownFlow(b *testing.B) {
	r := newLiveB(b)
	_, c := loopbackConn(b)
	f := Flow{Proto: 6, Local: ap(c.LocalAddr()), Remote: ap(c.RemoteAddr())}
	if _, err := r.Resolve(f); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := r.Resolve(f); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkExecIdentity: what the process connector's goroutine spends per
// exec on the host (the exec'd process's identity read from /proc), and
// per new task.
func BenchmarkExecIdentity(b *testing.B) {
	c := newConnEvents(nil)
	c.proc = hostProc(b)
	c.execReads.Store(true)
	pid := os.Getpid()
	b.Run("exec", func(b *testing.B) {
		for b.Loop() {
			c.procEvent(proccon.Event{PID: pid, TGID: pid, Exec: true})
		}
	})
	b.Run("task", func(b *testing.B) {
		tid := 0
		for b.Loop() {
			tid++
			c.task(tid, tid)
		}
	})
}
