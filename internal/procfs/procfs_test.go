package procfs

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func TestFS(t *testing.T) {
	if _, err := NewFS("testdata/proc/100/stat"); err == nil {
		t.Fatal("a file accepted as a proc root")
	}
	if _, err := NewFS("testdata/none"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("missing root: %v", err)
	}
	p, err := NewFS("testdata/proc/")
	if err != nil {
		t.Fatal(err)
	}
	if p.Root() != "testdata/proc" || p.PIDPath(100, "fd", "3") != "testdata/proc/100/fd/3" {
		t.Fatalf("root %q, path %q", p.Root(), p.PIDPath(100, "fd", "3"))
	}
	dent := make([]byte, 4096)
	pids, err := p.PIDs(dent, nil)
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(pids)
	if !slices.Equal(pids, []int{100, 350}) { // not self, net, uptime
		t.Fatalf("PIDs = %v", pids)
	}
	// A buffer too small for one record is an error, not a loop.
	if _, err := p.PIDs(make([]byte, 8), nil); err == nil {
		t.Fatal("no error with an 8-byte getdents buffer")
	}
}

func TestDir(t *testing.T) {
	p, err := NewFS("testdata/proc")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.OpenPID(999); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("OpenPID(999): %v", err)
	}
	if _, err := p.OpenPID(0); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("OpenPID(0): %v", err)
	}
	d, err := p.OpenPID(100)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	buf := make([]byte, 4096)
	st, err := d.Stat(buf)
	if err != nil || string(st.Comm) != "sshd" || st.StartTime != 5000 || st.Nice != 0 {
		t.Fatalf("Stat = %+v %v", st, err)
	}
	b, err := d.ReadFile("cmdline", buf)
	if err != nil || !slices.Equal(ParseCmdline(b), []string{"sshd: root@pts/0"}) {
		t.Fatalf("cmdline %q %v", b, err)
	}
	b, err = d.ReadFile("status", buf)
	if err != nil {
		t.Fatal(err)
	}
	if uid, err := ParseStatusUID(b); err != nil || uid != 0 {
		t.Fatalf("uid %d %v", uid, err)
	}
	if tgid := ParseStatusTgid(b); tgid != 100 {
		t.Fatalf("tgid %d", tgid)
	}
	if _, err := d.ReadFile("nothing", buf); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("missing file: %v", err)
	}
	link := make([]byte, 256)
	n, err := d.Readlink([]byte("fd/3"), link)
	if ino, ok := SocketInode(link[:n]); err != nil || !ok || ino != 1001 {
		t.Fatalf("fd/3 -> %q %v", link[:n], err)
	}
	n, err = d.Readlink([]byte("ns/net"), link)
	if ino, ok := NSInode(link[:n], "net"); err != nil || !ok || ino != 4026531840 {
		t.Fatalf("ns/net -> %q %v", link[:n], err)
	}
	if _, err := d.Readlink([]byte("fd/9"), link); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("missing link: %v", err)
	}
	if _, err := d.Readlink(bytes.Repeat([]byte("x"), 300), link); !errors.Is(err, unix.ENAMETOOLONG) {
		t.Fatal("over-long link name accepted")
	}
	dent := make([]byte, 4096)
	fds, err := d.FDs(dent, nil)
	slices.Sort(fds)
	if err != nil || !slices.Equal(fds, []int32{0, 3, 4, 5}) {
		t.Fatalf("FDs = %v %v", fds, err)
	}
	// What a scan does per process and per fd allocates nothing.
	var out []int32
	allocs := testing.AllocsPerRun(50, func() {
		if d, err := p.OpenPID(350); err == nil {
			d.Close()
		}
		d.Stat(buf)
		d.Readlink([]byte("fd/3"), link)
		out, _ = d.FDs(dent, out[:0])
	})
	if allocs != 0 {
		t.Errorf("%v allocations per read, want 0", allocs)
	}
}

// TestDirPinsProcess: a Dir opened for a live process fails once the
// process is gone, though its pid may be reused.
func TestDirPinsProcess(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("no /proc")
	}
	cmd := exec.Command("sleep", "60")
	if err := cmd.Start(); err != nil {
		t.Skip(err)
	}
	p, err := NewFS("/proc")
	if err != nil {
		t.Fatal(err)
	}
	d, err := p.OpenPID(cmd.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	buf := make([]byte, 4096)
	st, err := d.Stat(buf)
	if err != nil || string(st.Comm) != "sleep" {
		t.Fatalf("live: %+v %v", st, err)
	}
	cmd.Process.Kill()
	cmd.Wait()
	if _, err := d.Stat(buf); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("after exit: %v, want fs.ErrNotExist", err)
	}
}

// dirent64 lays out one struct linux_dirent64 in the machine's byte order.
func dirent64(name string, pad int) []byte {
	reclen := (19 + len(name) + 1 + pad + 7) &^ 7
	b := make([]byte, reclen)
	binary.NativeEndian.PutUint64(b[0:], 42)
	binary.NativeEndian.PutUint16(b[16:], uint16(reclen))
	copy(b[19:], name)
	return b
}

func TestParseDirents(t *testing.T) {
	var buf []byte
	for _, n := range []string{".", "..", "1", "250", "self", "4x", "07", "1073741824", "1073741825", "99999999999", ""} {
		buf = append(buf, dirent64(n, 0)...)
	}
	buf = append(buf, dirent64("31", 9)...)
	full := len(buf)
	buf = append(buf, dirent64("77", 0)[:12]...) // truncated: ignored
	got := parseDirents(buf, []int{})
	if want := []int{1, 250, 7, 1 << 30, 31}; !slices.Equal(got, want) {
		t.Fatalf("parseDirents = %v, want %v", got, want)
	}
	// A record length beyond the buffer, or too short, ends the walk.
	bad := slices.Clone(buf[:full])
	binary.NativeEndian.PutUint16(bad[16:], 3)
	if got := parseDirents(bad, []int32{}); len(got) != 0 {
		t.Fatalf("walked past a bad record: %v", got)
	}
}

func TestParseStat(t *testing.T) {
	st, err := ParseStat([]byte("42 (a) b) (c d) R 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 -10 1 0 777 1 1\n"))
	if err != nil || string(st.Comm) != "a) b) (c d" || st.StartTime != 777 || st.Nice != -10 {
		t.Fatalf("%+v %v", st, err)
	}
	for _, bad := range []string{"", "42 a R 1", "42 (x) R 1 2 3", "42 (x) R 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 -5 1",
		"42 (x) R 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 x 1 0 5 1"} {
		if _, err := ParseStat([]byte(bad)); !errors.Is(err, ErrMalformed) {
			t.Errorf("ParseStat(%q): no error", bad)
		}
	}
}

func TestParseCmdline(t *testing.T) {
	for _, tc := range []struct {
		in   string
		args []string
	}{
		{"/usr/sbin/sshd\x00-D\x00", []string{"/usr/sbin/sshd", "-D"}},
		{"sshd: root@pts/0", []string{"sshd: root@pts/0"}},
		{"postgres: writer process   \x00\x00\x00", []string{"postgres: writer process   "}},
		{"", nil},
		{"\x00\x00", nil},
		{"\x00-x\x00", []string{"", "-x"}},
	} {
		if args := ParseCmdline([]byte(tc.in)); !slices.Equal(args, tc.args) || len(args) != len(tc.args) {
			t.Errorf("ParseCmdline(%q) = %q; want %q", tc.in, args, tc.args)
		}
	}
	long := bytes.Repeat([]byte("a"), 10000)
	if args := ParseCmdline(long); len(args) != 1 || len(args[0]) != MaxCmdline-1 {
		t.Errorf("long cmdline: %d bytes kept, want %d as nethogs", len(args[0]), MaxCmdline-1)
	}
}

func TestParseLinks(t *testing.T) {
	for _, tc := range []struct {
		link, kind string
		ino        uint64
		ok         bool
	}{
		{"socket:[12345]", "socket", 12345, true},
		{"net:[4026531840]", "net", 4026531840, true},
		{"pid:[4026531836]", "pid", 4026531836, true},
		{"net:[4026531840]", "pid", 0, false},
		{"socket:[]", "socket", 0, false},
		{"socket:[12a]", "socket", 0, false},
		{"socket:12", "socket", 0, false},
		{"/dev/null", "socket", 0, false},
		{"anon_inode:[eventfd]", "anon_inode", 0, false},
	} {
		if ino, ok := NSInode([]byte(tc.link), tc.kind); ok != tc.ok || ino != tc.ino {
			t.Errorf("%q as %s: %d %v", tc.link, tc.kind, ino, ok)
		}
	}
	if _, err := ParseStatusUID([]byte("Name:\tx\nUid:\n")); err == nil {
		t.Error("empty Uid line accepted")
	}
	if tgid := ParseStatusTgid([]byte("Name:\tTgid: 5\n")); tgid != 0 {
		t.Errorf("Tgid read from another line: %d", tgid)
	}
}

func FuzzParseStat(f *testing.F) {
	f.Add([]byte("42 (a) b) (c d) R 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 777 1 1\n"))
	f.Add([]byte("1 (systemd) S 0 1 1 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0 2 0 0"))
	f.Fuzz(func(t *testing.T, b []byte) {
		st, err := ParseStat(b)
		if err == nil && !bytes.Contains(b, []byte("("+string(st.Comm)+")")) {
			t.Fatalf("comm %q not in input", st.Comm)
		}
		args := ParseCmdline(b)
		for _, a := range args {
			if strings.IndexByte(a, 0) >= 0 {
				t.Fatalf("argument %q holds a NUL", a)
			}
		}
		if len(args) > 0 && args[len(args)-1] == "" {
			t.Fatalf("trailing empty argument in %q", args)
		}
		_, _ = ParseStatusUID(b)
		_ = ParseStatusTgid(b)
		_, _ = SocketInode(b)
		_ = parseDirents(b, []int{})
	})
}
