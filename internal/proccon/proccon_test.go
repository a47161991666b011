package proccon

import (
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/gohogs/gohogs/internal/procfs"
)

// TestParse: connector messages (a thread's fork, a process's fork, an
// exec, an exit, a truncated one) as the kernel lays them out.
func TestParse(t *testing.T) {
	msg := func(what uint32, a, b, c, d uint32) []byte {
		m := make([]byte, unix.NLMSG_HDRLEN+cnMsgLen+40)
		binary.NativeEndian.PutUint32(m[0:], uint32(len(m)))
		ev := m[unix.NLMSG_HDRLEN+cnMsgLen:]
		binary.NativeEndian.PutUint32(ev[0:], what)
		binary.NativeEndian.PutUint64(ev[8:], uint64(1000+a))
		for i, v := range []uint32{a, b, c, d} {
			binary.NativeEndian.PutUint32(ev[16+4*i:], v)
		}
		return m
	}
	var buf []byte
	buf = append(buf, msg(procEventFork, 10, 10, 11, 10)...) // thread 11 of 10
	buf = append(buf, msg(procEventFork, 11, 10, 12, 12)...) // process 12, forked by thread 11 of 10
	buf = append(buf, msg(procEventExec, 12, 12, 0, 0)...)
	buf = append(buf, msg(0x80000000, 1, 1, 1, 1)...) // exit: ignored
	buf = append(buf, msg(procEventFork, 1, 1, 1, 1)[:unix.NLMSG_HDRLEN+cnMsgLen+20]...)
	got := Parse(buf, nil)
	want := []Event{{11, 10, false, 10, 1010}, {12, 12, false, 10, 1011}, {12, 12, true, 0, 1012}}
	if !slices.Equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	// A length beyond the buffer ends the batch.
	bad := slices.Clone(buf)
	binary.NativeEndian.PutUint32(bad[0:], uint32(len(bad)+1))
	if got := Parse(bad, nil); len(got) != 0 {
		t.Fatalf("read past a bad length: %v", got)
	}
}

// threadNice reads the nice value of thread tid of this process.
func threadNice(t *testing.T, tid int) int {
	t.Helper()
	b, err := os.ReadFile("/proc/self/task/" + strconv.Itoa(tid) + "/stat")
	if err != nil {
		t.Fatal(err)
	}
	st, err := procfs.ParseStat(b)
	if err != nil {
		t.Fatal(err)
	}
	return st.Nice
}

// TestLive: the fork of a child (with this process as its parent) and its
// exec are reported, with its pid, on the reader's thread, whose priority
// is the one asked for.
func TestLive(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root (the process connector)")
	}
	for _, nice := range []int{0, -10} {
		t.Run(fmt.Sprint("nice", nice), func(t *testing.T) {
			reported := make(chan Event, 1024)
			tids := make(chan int, 1024)
			c, err := Start(func(evs []Event) {
				select {
				case tids <- unix.Gettid():
				default:
				}
				for _, e := range evs {
					if e.Exec || (e.PID == e.TGID && e.Parent == os.Getpid()) {
						select {
						case reported <- e:
						default:
						}
					}
				}
			}, func(err error) { t.Log(err) }, Options{Nice: nice})
			if err != nil {
				t.Fatal(err)
			}
			defer func() {
				if err := c.Close(); err != nil {
					t.Error(err)
				}
				// The thread ends, or (the main thread, kept by the
				// runtime) is back at nice 0.
				for deadline := time.Now().Add(5 * time.Second); ; {
					b, err := os.ReadFile("/proc/self/task/" + strconv.Itoa(c.ThreadID()) + "/stat")
					if err != nil {
						break
					}
					if st, err := procfs.ParseStat(b); err == nil && st.Nice == 0 {
						break
					}
					if time.Now().After(deadline) {
						t.Errorf("after Close, the reader's thread is still at nice %d", nice)
						break
					}
					runtime.Gosched()
				}
			}()
			if got := threadNice(t, c.ThreadID()); got != nice {
				t.Fatalf("reader's thread at nice %d, want %d", got, nice)
			}
			monotonic := func() uint64 {
				var ts unix.Timespec
				unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts)
				return uint64(ts.Nano())
			}
			before := monotonic()
			cmd := exec.Command("/bin/true")
			if err := cmd.Run(); err != nil {
				t.Skip(err)
			}
			after := monotonic()
			// Its fork, with this process as the parent, then its exec,
			// stamped while it ran.
			deadline := time.After(5 * time.Second)
			for seen := 0; seen < 2; {
				select {
				case e := <-reported:
					if e.PID == cmd.Process.Pid {
						seen++
						if e.Time < before || e.Time > after {
							t.Errorf("event %+v stamped outside [%d, %d]", e, before, after)
						}
					}
				case <-deadline:
					t.Fatalf("no fork and exec events for pid %d in 5 s", cmd.Process.Pid)
				}
			}
			if tid := <-tids; tid != c.ThreadID() {
				t.Fatalf("events handled on thread %d, the reader is %d", tid, c.ThreadID())
			}
		})
	}
}
