package flowbpf

import (
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/gohogs/gohogs/internal/netnstest"
)

// BenchmarkHooks compares where the program runs: on the tcx hooks of A's
// veth, or as a socket filter on an AF_PACKET socket bound to it (the packet
// tap, which clones every outgoing packet before the filter runs), against
// nothing attached. Each iteration moves 1 MiB over TCP from A to B; it
// reports the frames per second and, with kernel.bpf_stats_enabled (turned
// on for the benchmark and restored), the program's own nanoseconds per
// run.
func BenchmarkHooks(b *testing.B) {
	for _, hook := range []string{"none", "tcx", "socket"} {
		b.Run(hook, func(b *testing.B) { benchHook(b, hook) })
	}
}

func benchHook(b *testing.B, hook string) {
	if os.Geteuid() != 0 {
		b.Skip("needs root")
	}
	p := netnstest.NewPair(b)
	var c *Counter
	if hook != "none" {
		var err error
		if c, err = Load(Options{}); err != nil {
			b.Skipf("eBPF not available: %v", err)
		}
		defer c.Close()
	}
	if err := netnstest.Do(p.NSA, func() error {
		ifi, err := net.InterfaceByName(p.IfA)
		if err != nil {
			return err
		}
		switch hook {
		case "tcx":
			a, err := c.AttachTCX(ifi.Index, false)
			if err != nil {
				return err
			}
			b.Cleanup(func() { a.Close() })
		case "socket":
			fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, 0)
			if err != nil {
				return err
			}
			b.Cleanup(func() { unix.Close(fd) })
			if err := c.AttachSocket(fd); err != nil {
				return err
			}
			return unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: 0x0300, Ifindex: ifi.Index}) // ETH_P_ALL, network order
		}
		return nil
	}); err != nil {
		b.Fatal(err)
	}
	restore := statsOn(b)
	defer restore()
	var ln net.Listener
	if err := netnstest.Do(p.NSB, func() (err error) {
		ln, err = net.Listen("tcp", net.JoinHostPort(p.AddrB4.String(), "0"))
		return err
	}); err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	got := netnstest.Discard(ln, 5*time.Minute)
	var conn net.Conn
	if err := netnstest.Do(p.NSA, func() (err error) {
		conn, err = net.Dial("tcp", ln.Addr().String())
		return err
	}); err != nil {
		b.Fatal(err)
	}
	before, err := netnstest.ReadCounters(p.NSA, p.IfA)
	if err != nil {
		b.Fatal(err)
	}
	run0, cnt0 := progStats(c)
	buf := make([]byte, 1<<20)
	b.SetBytes(int64(len(buf)))
	b.ResetTimer()
	start := time.Now()
	for range b.N {
		if _, err := conn.Write(buf); err != nil {
			b.Fatal(err)
		}
	}
	conn.Close()
	<-got
	secs := time.Since(start).Seconds()
	b.StopTimer()
	after, err := netnstest.ReadCounters(p.NSA, p.IfA)
	if err != nil {
		b.Fatal(err)
	}
	d := after.Sub(before)
	b.ReportMetric(float64(d.TxPackets+d.RxPackets)/secs, "frames/s")
	if run1, cnt1 := progStats(c); cnt1 > cnt0 {
		b.ReportMetric(float64(run1-run0)/float64(cnt1-cnt0), "prog-ns/run")
	}
}

// progStats sums the programs' run time and run count.
func progStats(c *Counter) (ns, runs uint64) {
	if c == nil {
		return 0, 0
	}
	for _, p := range c.Programs() {
		if st, err := p.Stats(); err == nil {
			ns += uint64(st.Runtime)
			runs += st.RunCount
		}
	}
	return ns, runs
}

// statsOn turns kernel.bpf_stats_enabled on and returns what restores it.
func statsOn(b *testing.B) func() {
	const path = "/proc/sys/kernel/bpf_stats_enabled"
	old, err := os.ReadFile(path)
	if err != nil {
		return func() {}
	}
	if err := os.WriteFile(path, []byte("1"), 0o644); err != nil {
		b.Logf("bpf_stats_enabled: %v", err)
		return func() {}
	}
	return func() { _ = os.WriteFile(path, []byte(strings.TrimSpace(string(old))), 0o644) }
}
