package procmap

import (
	"encoding/binary"
	"errors"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

const fixtureNS = 4026531840

func skipBigEndian(t testing.TB) {
	var b [2]byte
	binary.NativeEndian.PutUint16(b[:], 1)
	if b[0] != 1 {
		t.Skip("fixture /proc/net files are little-endian")
	}
}

func fixture(t *testing.T, root string, opts Options) *Resolver {
	t.Helper()
	skipBigEndian(t)
	opts.ProcRoot = root
	opts.NoNetlink = true
	if opts.NetNSDir == "" {
		opts.NetNSDir = filepath.Join(t.TempDir(), "netns") // none
	}
	r, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	// Fixture processes started at 10 to 9900 ticks after boot: "now" is
	// long after, none is young, unless a test says so.
	r.nowTicks = func() uint64 { return 1 << 40 }
	return r
}

// copyTree copies a fixture tree (files, dirs, symlinks) to a temp dir.
func copyTree(t testing.TB, src string) string {
	t.Helper()
	dst := t.TempDir()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		out := filepath.Join(dst, rel)
		switch {
		case d.Type()&fs.ModeSymlink != 0:
			tgt, err := os.Readlink(p)
			if err != nil {
				return err
			}
			return os.Symlink(tgt, out)
		case d.IsDir():
			return os.MkdirAll(out, 0o755)
		default:
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			return os.WriteFile(out, b, 0o644)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

func mp(s string) netip.AddrPort { return netip.MustParseAddrPort(s) }

func TestFixtureResolve(t *testing.T) {
	r := fixture(t, "testdata/proc1", Options{})
	if r.NetNS() != fixtureNS {
		t.Fatalf("NetNS() = %d, want %d", r.NetNS(), fixtureNS)
	}
	for _, tc := range []struct {
		name   string
		f      Flow
		inode  uint64
		uid    uint32
		pid    int // 0: no process expected
		pname  string
		notFnd bool
	}{
		{"tcp established", Flow{Proto: 6, Local: mp("192.168.1.10:22"), Remote: mp("192.168.1.20:50000")}, 1002, 1000, 200, "/usr/bin/python3", false},
		{"tcp not yet accepted", Flow{Proto: 6, Local: mp("192.168.1.10:22"), Remote: mp("192.168.1.30:50001")}, 1001, 0, 100, "sshd: root@pts/0", false},
		{"tcp unknown peer to listener", Flow{Proto: 6, Local: mp("192.168.1.10:22"), Remote: mp("192.168.1.99:1234")}, 1001, 0, 100, "sshd: root@pts/0", false},
		{"tcp time_wait", Flow{Proto: 6, Local: mp("192.168.1.10:40000"), Remote: mp("10.0.0.1:80")}, 0, 0, 0, "", true},
		{"tcp mapped established", Flow{Proto: 6, Local: mp("192.168.1.10:8080"), Remote: mp("192.168.1.40:5555")}, 1004, 1000, 200, "/usr/bin/python3", false},
		{"tcp v4 to dual-stack listener", Flow{Proto: 6, Local: mp("192.168.1.10:8080"), Remote: mp("192.168.1.41:5555")}, 1003, 33, 300, "nginx: worker process", false},
		{"tcp specific listener", Flow{Proto: 6, Local: mp("192.168.1.10:8081"), Remote: mp("192.168.1.41:5555")}, 1005, 0, 300, "nginx: worker process", false},
		{"tcp other address, specific listener", Flow{Proto: 6, Local: mp("192.168.1.11:8081"), Remote: mp("192.168.1.41:5555")}, 0, 0, 0, "", true},
		{"tcp6", Flow{Proto: 6, Local: mp("[2001:db8::1]:443"), Remote: mp("[2001:db8::2]:60000")}, 1006, 1000, 200, "/usr/bin/python3", false},
		{"udp connected", Flow{Proto: 17, Local: mp("192.168.1.10:53"), Remote: mp("8.8.8.8:53")}, 2002, 0, 0, "", false},
		{"udp wildcard", Flow{Proto: 17, Local: mp("192.168.1.10:53"), Remote: mp("1.1.1.1:53")}, 2001, 0, 100, "sshd: root@pts/0", false},
		{"udp v4 on dual-stack", Flow{Proto: 17, Local: mp("192.168.1.10:5353"), Remote: mp("224.0.0.251:5353")}, 2003, 0, 300, "nginx: worker process", false},
		{"udp no process", Flow{Proto: 17, Local: mp("192.168.1.10:123"), Remote: mp("1.2.3.4:123")}, 6001, 0, 0, "", false},
		{"udp none", Flow{Proto: 17, Local: mp("192.168.1.10:124"), Remote: mp("1.2.3.4:123")}, 0, 0, 0, "", true},
		{"ping socket by echo id", Flow{Proto: 1, Local: mp("192.168.1.10:2989"), Remote: mp("192.168.1.1:0")}, 3001, 0, 400, "pinger", false},
		{"raw icmp", Flow{Proto: 1, Local: mp("192.168.1.10:77"), Remote: mp("192.168.1.1:0")}, 3002, 0, 400, "pinger", false},
		{"raw proto 253", Flow{Proto: 253, Local: mp("192.168.1.10:0"), Remote: mp("192.168.1.1:0")}, 3003, 0, 400, "pinger", false},
		{"raw none", Flow{Proto: 47, Local: mp("192.168.1.10:0"), Remote: mp("192.168.1.1:0")}, 0, 0, 0, "", true},
		{"other netns same tuple", Flow{NetNS: 4026532999, Proto: 6, Local: mp("192.168.1.10:22"), Remote: mp("192.168.1.20:50000")}, 5002, 0, 500, "/bin/contained", false},
		{"own netns named", Flow{NetNS: fixtureNS, Proto: 6, Local: mp("192.168.1.10:22"), Remote: mp("192.168.1.20:50000")}, 1002, 1000, 200, "/usr/bin/python3", false},
		{"unknown netns", Flow{NetNS: 4026539999, Proto: 6, Local: mp("192.168.1.10:22"), Remote: mp("192.168.1.20:50000")}, 0, 0, 0, "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o, err := r.Resolve(tc.f)
			if tc.notFnd {
				if !errors.Is(err, ErrNotFound) {
					t.Fatalf("got %+v, %v; want ErrNotFound", o, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if o.Inode != tc.inode || o.UID != tc.uid {
				t.Fatalf("inode %d uid %d, want %d %d", o.Inode, o.UID, tc.inode, tc.uid)
			}
			if tc.pid == 0 {
				if o.Process != nil {
					t.Fatalf("process %+v, want none", o.Process)
				}
				return
			}
			if o.Process == nil || o.Process.PID != tc.pid || o.Process.Name != tc.pname {
				t.Fatalf("process %+v, want pid %d %q", o.Process, tc.pid, tc.pname)
			}
		})
	}
	st := r.Stats()
	if st.Lookups != 21 || st.Misses != 5 || st.Hits != 16 {
		t.Fatalf("stats %+v", st)
	}
}

func TestFixtureMalformedCounted(t *testing.T) {
	r := fixture(t, "testdata/proc1", Options{})
	for i := 1; i <= 3; i++ {
		if _, err := r.Resolve(Flow{Proto: 6, Local: mp("192.168.1.10:22"), Remote: mp("192.168.1.20:50000")}); err != nil {
			t.Fatal(err)
		}
		// net/tcp holds two malformed lines; tcp6 none.
		if st := r.Stats(); st.MalformedLines != uint64(2*i) || st.TableReads != uint64(i) {
			t.Fatalf("after %d lookups: malformed %d table reads %d", i, st.MalformedLines, st.TableReads)
		}
	}
}

func TestFixtureProcess(t *testing.T) {
	r := fixture(t, "testdata/proc1", Options{})
	for _, tc := range []struct {
		pid   int
		name  string
		args  []string
		uid   uint32
		start uint64
	}{
		{100, "sshd: root@pts/0", []string{"sshd: root@pts/0"}, 0, 5000},
		{200, "/usr/bin/python3", []string{"/usr/bin/python3", "-m", "http.server"}, 1000, 6000},
		{300, "nginx: worker process", []string{"nginx: worker process"}, 33, 7000},
		{350, "kworker/0:1-events", nil, 0, 10},
	} {
		p, err := r.Process(tc.pid)
		if err != nil {
			t.Fatal(err)
		}
		if p.PID != tc.pid || p.Name != tc.name || !slices.Equal(p.Cmdline, tc.args) || p.UID != tc.uid || p.StartTime != tc.start {
			t.Fatalf("Process(%d) = %+v, want %q %q uid %d start %d", tc.pid, p, tc.name, tc.args, tc.uid, tc.start)
		}
		if q, _ := r.Process(tc.pid); q != p {
			t.Fatalf("Process(%d) read again", tc.pid)
		}
	}
	if _, err := r.Process(999); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Process(999): %v", err)
	}
}

// TestFixturePidReuse: pid 200 exits and a new process gets pid 200; it is a
// new Process with its own name, and the old one keeps its name.
func TestFixturePidReuse(t *testing.T) {
	root := copyTree(t, "testdata/proc1")
	r := fixture(t, root, Options{})
	f1 := Flow{Proto: 6, Local: mp("192.168.1.10:22"), Remote: mp("192.168.1.20:50000")}
	o1, err := r.Resolve(f1)
	if err != nil || o1.Process == nil || o1.Process.Name != "/usr/bin/python3" {
		t.Fatalf("%+v %v", o1, err)
	}
	old := o1.Process
	// The new process: another start time, name, socket.
	// As in /proc, the new process is a new directory.
	must(t, os.RemoveAll(root+"/200"))
	must(t, os.MkdirAll(root+"/200/fd", 0o755))
	must(t, os.WriteFile(root+"/200/stat", []byte("200 (newproc) S 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 6500 1 1\n"), 0o644))
	must(t, os.WriteFile(root+"/200/cmdline", []byte("newproc\x00--flag\x00"), 0o644))
	must(t, os.WriteFile(root+"/200/status", []byte("Uid:\t7\t7\t7\t7\n"), 0o644))
	must(t, os.Symlink("socket:[1100]", root+"/200/fd/3"))
	tcp, err := os.ReadFile(root + "/net/tcp")
	must(t, err)
	tcp = append(tcp, "   7: 0A01A8C0:1F92 1401A8C0:C350 01 00000000:00000000 00:00000000 00000000  1000        0 1100 1 0 100 0 0 10 0\n"...)
	must(t, os.WriteFile(root+"/net/tcp", tcp, 0o644))

	o2, err := r.Resolve(Flow{Proto: 6, Local: mp("192.168.1.10:8082"), Remote: mp("192.168.1.20:50000")})
	if err != nil {
		t.Fatal(err)
	}
	p := o2.Process
	if p == nil || p == old || p.PID != 200 || p.Name != "newproc" || p.StartTime != 6500 || !slices.Equal(p.Cmdline, []string{"newproc", "--flag"}) {
		t.Fatalf("new process %+v (old %+v)", p, old)
	}
	if old.Name != "/usr/bin/python3" || old.StartTime != 6000 {
		t.Fatalf("old process changed: %+v", old)
	}
	if q, err := r.Process(200); err != nil || q != p {
		t.Fatalf("Process(200) = %+v %v", q, err)
	}
	// The old flow's socket is gone from every fd: remembered owner.
	if o, err := r.Resolve(f1); err != nil || o.Inode != 1002 {
		t.Fatalf("old flow: %+v %v", o, err)
	}
}

// TestFixtureIncremental: a new process is found by scanning new pids only;
// a new socket in an old process needs a full scan, rate-limited.
func TestFixtureIncremental(t *testing.T) {
	root := copyTree(t, "testdata/proc1")
	r := fixture(t, root, Options{FullScanInterval: time.Hour})
	addUDP := func(port int, inode string) {
		b, err := os.ReadFile(root + "/net/udp")
		must(t, err)
		b = append(b, []byte("  9: 00000000:"+portHex(port)+" 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 "+inode+" 2 0 0\n")...)
		must(t, os.WriteFile(root+"/net/udp", b, 0o644))
	}
	if _, err := r.Resolve(Flow{Proto: 6, Local: mp("192.168.1.10:22"), Remote: mp("192.168.1.20:50000")}); err != nil {
		t.Fatal(err)
	}
	if st := r.Stats(); st.FullScans != 0 {
		t.Fatalf("first lookup: %+v", st)
	}
	// A socket no process holds: every scan, once.
	if o, err := r.Resolve(Flow{Proto: 17, Local: mp("192.168.1.10:123"), Remote: mp("1.2.3.4:123")}); err != nil || o.Process != nil {
		t.Fatalf("%+v %v", o, err)
	}
	if st := r.Stats(); st.FullScans != 1 || st.Processes != 6 {
		t.Fatalf("after a miss: %+v", st)
	}
	// A new process with a new socket.
	must(t, os.MkdirAll(root+"/700/fd", 0o755))
	must(t, os.WriteFile(root+"/700/stat", []byte("700 (newcomer) S 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 9900 1 1\n"), 0o644))
	must(t, os.WriteFile(root+"/700/cmdline", []byte("newcomer\x00"), 0o644))
	must(t, os.WriteFile(root+"/700/status", []byte("Name:\tnewcomer\nUid:\t5\t5\t5\t5\n"), 0o644))
	must(t, os.Symlink("socket:[7001]", root+"/700/fd/3"))
	addUDP(7001, "7001")
	o, err := r.Resolve(Flow{Proto: 17, Local: mp("192.168.1.10:7001"), Remote: mp("1.2.3.4:5")})
	if err != nil || o.Process == nil || o.Process.PID != 700 || o.Process.UID != 5 {
		t.Fatalf("new process: %+v %v", o, err)
	}
	if st := r.Stats(); st.FullScans != 1 {
		t.Fatalf("new process needed a full scan: %+v", st)
	}
	// A new socket in pid 350, started a moment ago: rescanned as young.
	r.mu.Lock()
	r.nowTicks = func() uint64 { return 100 } // pid 350 started at 10
	r.mu.Unlock()
	must(t, os.Symlink("socket:[7004]", root+"/350/fd/5"))
	addUDP(7004, "7004")
	o, err = r.Resolve(Flow{Proto: 17, Local: mp("192.168.1.10:7004"), Remote: mp("1.2.3.4:5")})
	if err != nil || o.Process == nil || o.Process.PID != 350 {
		t.Fatalf("young process: %+v %v", o, err)
	}
	if st := r.Stats(); st.FullScans != 1 {
		t.Fatalf("young process needed a full scan: %+v", st)
	}
	// Once no process is young, a new socket in pid 350 (not hot, not new)
	// needs a full scan, but one was just done: the socket is reported
	// without its process.
	r.mu.Lock()
	r.youngAge = 0
	for _, pid := range r.hot {
		r.procs[pid].unpin()
	}
	r.hot = r.hot[:0]
	r.mu.Unlock()
	must(t, os.Symlink("socket:[7002]", root+"/350/fd/4"))
	addUDP(7002, "7002")
	f := Flow{Proto: 17, Local: mp("192.168.1.10:7002"), Remote: mp("1.2.3.4:5")}
	o, err = r.Resolve(f)
	if err != nil || o.Inode != 7002 || o.Process != nil {
		t.Fatalf("rate-limited: %+v %v", o, err)
	}
	if st := r.Stats(); st.FullScans != 1 {
		t.Fatalf("full scans %d, want 1", st.FullScans)
	}
	// Once the interval has passed (simulated), the full scan finds it.
	r.mu.Lock()
	r.lastFull = time.Time{}
	r.mu.Unlock()
	o, err = r.Resolve(f)
	if err != nil || o.Process == nil || o.Process.PID != 350 {
		t.Fatalf("new socket: %+v %v", o, err)
	}
	if st := r.Stats(); st.FullScans != 2 {
		t.Fatalf("full scans %d, want 2", st.FullScans)
	}
	// A process that is gone is dropped from the index.
	must(t, os.RemoveAll(root+"/700"))
	if _, err := r.Process(700); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Process(700) after exit: %v", err)
	}
}

func portHex(p int) string {
	const hx = "0123456789ABCDEF"
	return string([]byte{hx[p>>12&15], hx[p>>8&15], hx[p>>4&15], hx[p&15]})
}

// TestFixtureNetNSRepresentative: the process through which a namespace's
// tables are read exits; another process of that namespace takes over, and
// a reused pid living elsewhere is not taken for it.
func TestFixtureNetNSRepresentative(t *testing.T) {
	root := copyTree(t, "testdata/proc1")
	r := fixture(t, root, Options{FullScanInterval: -1})
	f := Flow{NetNS: 4026532999, Proto: 6, Local: mp("192.168.1.10:22"), Remote: mp("192.168.1.20:50000")}
	if o, err := r.Resolve(f); err != nil || o.Inode != 5002 {
		t.Fatalf("%+v %v", o, err)
	}
	// pid 500 exits; pid 500 is reused by a process of our namespace, and
	// pid 510 lives in 4026532999 with another socket table.
	must(t, os.RemoveAll(root+"/500"))
	must(t, os.MkdirAll(root+"/500/ns", 0o755))
	must(t, os.MkdirAll(root+"/500/net", 0o755))
	must(t, os.WriteFile(root+"/500/stat", []byte("500 (reuser) S 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 9500 1 1\n"), 0o644))
	must(t, os.Symlink("net:[4026531840]", root+"/500/ns/net"))
	must(t, os.WriteFile(root+"/500/net/tcp", []byte("sl\n   0: 0A01A8C0:0016 1401A8C0:C350 01 0:0 0:0 0 0 0 666 1\n"), 0o644))
	must(t, os.MkdirAll(root+"/510/ns", 0o755))
	must(t, os.MkdirAll(root+"/510/net", 0o755))
	must(t, os.MkdirAll(root+"/510/fd", 0o755))
	must(t, os.WriteFile(root+"/510/stat", []byte("510 (contained2) S 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 9600 1 1\n"), 0o644))
	must(t, os.WriteFile(root+"/510/cmdline", []byte("contained2\x00"), 0o644))
	must(t, os.Symlink("net:[4026532999]", root+"/510/ns/net"))
	must(t, os.Symlink("socket:[5102]", root+"/510/fd/3"))
	must(t, os.WriteFile(root+"/510/net/tcp", []byte("sl\n   0: 0A01A8C0:0016 1401A8C0:C350 01 0:0 0:0 0 0 0 5102 1\n"), 0o644))
	o, err := r.Resolve(f)
	if err != nil || o.Inode != 5102 || o.Process == nil || o.Process.Name != "contained2" {
		t.Fatalf("%+v %v", o, err)
	}
}

// TestFixtureExecRefresh: a process first read between fork and exec has
// its parent's command line; while young (or after a reported exec) its
// identity is read again when its sockets are resolved.
func TestFixtureExecRefresh(t *testing.T) {
	root := copyTree(t, "testdata/proc1")
	r := fixture(t, root, Options{})
	r.nowTicks = func() uint64 { return 6100 } // pid 200 started at 6000
	f := Flow{Proto: 6, Local: mp("192.168.1.10:22"), Remote: mp("192.168.1.20:50000")}
	o1, err := r.Resolve(f)
	if err != nil || o1.Process == nil || o1.Process.Name != "/usr/bin/python3" {
		t.Fatalf("%+v %v", o1, err)
	}
	if err := os.WriteFile(root+"/200/cmdline", []byte("/usr/bin/curl\x00-s\x00"), 0o644); err != nil {
		t.Fatal(err)
	}
	o2, err := r.Resolve(f)
	if err != nil || o2.Process == nil || o2.Process.Name != "/usr/bin/curl" || o2.Process.StartTime != 6000 {
		t.Fatalf("after exec: %+v %v", o2.Process, err)
	}
	if o1.Process.Name != "/usr/bin/python3" {
		t.Fatalf("the earlier Process changed: %+v", o1.Process)
	}
	// An old process is not re-read, unless an exec is reported.
	r.mu.Lock()
	r.youngAge = 0
	r.mu.Unlock()
	if err := os.WriteFile(root+"/200/cmdline", []byte("/usr/bin/wget\x00"), 0o644); err != nil {
		t.Fatal(err)
	}
	if o, _ := r.Resolve(f); o.Process != o2.Process {
		t.Fatalf("old process re-read: %+v", o.Process)
	}
	r.mu.Lock()
	r.procs[200].execd = true
	r.mu.Unlock()
	if o, _ := r.Resolve(f); o.Process == nil || o.Process.Name != "/usr/bin/wget" {
		t.Fatalf("after a reported exec: %+v", o.Process)
	}
}

func TestFixtureBadFlows(t *testing.T) {
	r := fixture(t, "testdata/proc1", Options{})
	for _, f := range []Flow{
		{},
		{Proto: 6},
		{Proto: 6, Local: mp("192.168.1.10:22"), Remote: mp("[2001:db8::2]:1")},
		{Proto: 0, Local: mp("192.168.1.10:22"), Remote: mp("192.168.1.20:50000")},
		{Proto: 255, Local: mp("[::]:0")},
	} {
		if o, err := r.Resolve(f); !errors.Is(err, ErrNotFound) {
			t.Errorf("Resolve(%+v) = %+v, %v; want ErrNotFound", f, o, err)
		}
	}
	for _, pid := range []int{0, -1, 1 << 30} {
		if p, err := r.Process(pid); err == nil {
			t.Errorf("Process(%d) = %+v", pid, p)
		}
	}
}

// FuzzResolve: any flow against the fixture tree: no panic, and either an
// owner with a socket from the tables or ErrNotFound.
func FuzzResolve(f *testing.F) {
	f.Add(uint64(0), uint8(6), []byte{192, 168, 1, 10}, uint16(22), []byte{192, 168, 1, 20}, uint16(50000))
	f.Add(uint64(4026532999), uint8(17), []byte{192, 168, 1, 10}, uint16(53), []byte{8, 8, 8, 8}, uint16(53))
	f.Add(uint64(0), uint8(1), []byte{192, 168, 1, 10}, uint16(2989), []byte{}, uint16(0))
	skipBigEndian(f)
	r, err := New(Options{ProcRoot: "testdata/proc1", NoNetlink: true, NetNSDir: "testdata/none"})
	if err != nil {
		f.Fatal(err)
	}
	defer r.Close()
	f.Fuzz(func(t *testing.T, ns uint64, proto uint8, la []byte, lp uint16, ra []byte, rp uint16) {
		l, _ := netip.AddrFromSlice(la)
		rr, _ := netip.AddrFromSlice(ra)
		o, err := r.Resolve(Flow{NetNS: ns, Proto: proto, Local: netip.AddrPortFrom(l, lp), Remote: netip.AddrPortFrom(rr, rp)})
		if err != nil {
			if !errors.Is(err, ErrNotFound) {
				t.Fatalf("error %v is not ErrNotFound", err)
			}
			return
		}
		if o.Inode == 0 {
			t.Fatalf("owner without inode: %+v", o)
		}
	})
}

// TestFixtureRememberedHolder: a socket still in the table whose holder is
// no longer seen (its process exited) keeps the process it was resolved to.
func TestFixtureRememberedHolder(t *testing.T) {
	root := copyTree(t, "testdata/proc1")
	r := fixture(t, root, Options{FullScanInterval: time.Hour})
	f := Flow{Proto: 6, Local: mp("192.168.1.10:22"), Remote: mp("192.168.1.20:50000")}
	o1, err := r.Resolve(f)
	if err != nil || o1.Process == nil || o1.Process.PID != 200 {
		t.Fatalf("%+v %v", o1, err)
	}
	if err := os.RemoveAll(root + "/200"); err != nil {
		t.Fatal(err)
	}
	// Another lookup lists /proc and forgets pid 200.
	if _, err := r.Resolve(Flow{Proto: 17, Local: mp("192.168.1.10:123"), Remote: mp("1.2.3.4:123")}); err != nil {
		t.Fatal(err)
	}
	if st := r.Stats(); st.Processes != 5 {
		t.Fatalf("%d processes indexed, want 5", st.Processes)
	}
	o2, err := r.Resolve(f)
	if err != nil || o2.Inode != 1002 || o2.Process != o1.Process {
		t.Fatalf("%+v %v, want the remembered %+v", o2, err, o1.Process)
	}
}

// must fails the test on err.
func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
