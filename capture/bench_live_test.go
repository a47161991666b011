package capture

import (
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gohogs/gohogs/internal/netnstest"
	"golang.org/x/sys/unix"
)

// BenchmarkCaptureVeth sends b.N small UDP datagrams (64-byte frames) from
// namespace A to B over a veth pair with offloads off, as fast as one
// two goroutines can, while capturing on A's end with each backend; it reports
// the packets captured per second and the kernel drops.
func BenchmarkCaptureVeth(b *testing.B) {
	for _, backend := range backends() {
		b.Run(backend.String(), func(b *testing.B) { benchCaptureVeth(b, backend) })
	}
}

func benchCaptureVeth(b *testing.B, backend Backend) {
	p := netnstest.NewPair(b)
	var c *Capture
	if err := netnstest.Do(p.NSA, func() (err error) {
		c, err = Open(Options{Interfaces: []string{p.IfA}, Backend: backend})
		return err
	}); err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	var udp atomic.Uint64
	go func() {
		_ = c.Run(b.Context(), func(p *Packet) {
			if p.Proto == ProtoUDP {
				udp.Add(1)
			}
		})
	}()
	var pc net.PacketConn
	if err := netnstest.Do(p.NSB, func() (err error) {
		pc, err = net.ListenPacket("udp", net.JoinHostPort(p.AddrB4.String(), "0"))
		return err
	}); err != nil {
		b.Fatal(err)
	}
	defer pc.Close()
	go func() { // drain the receiver so its socket buffer never matters
		buf := make([]byte, 2048)
		for {
			if _, _, err := pc.ReadFrom(buf); err != nil {
				return
			}
		}
	}()
	// Two senders, each with its own socket, to reach a higher rate.
	const senders = 2
	var conns []net.Conn
	if err := netnstest.Do(p.NSA, func() error {
		for range senders {
			conn, err := net.Dial("udp", pc.LocalAddr().String())
			if err != nil {
				return err
			}
			conns = append(conns, conn)
		}
		return nil
	}); err != nil {
		b.Fatal(err)
	}
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	payload := make([]byte, 64-14-20-8)
	before := c.Stats()[0]
	cpu0 := processCPU()
	start := time.Now()
	b.ReportAllocs()
	b.ResetTimer()
	var wg sync.WaitGroup
	for i, conn := range conns {
		n := b.N / senders
		if i == 0 {
			n += b.N % senders
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range n {
				if _, err := conn.Write(payload); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	// Wait (bounded) for the ring to drain.
	deadline := time.Now().Add(5 * time.Second)
	for udp.Load() < uint64(b.N) && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	elapsed := time.Since(start)
	cpu := processCPU() - cpu0
	b.StopTimer()
	after := c.Stats()[0]
	got := udp.Load()
	b.ReportMetric(float64(got)/elapsed.Seconds(), "captured/s")
	b.ReportMetric(float64(after.KernelDrops-before.KernelDrops), "drops")
	b.ReportMetric(float64(uint64(b.N)-min(got, uint64(b.N))), "missed")
	// CPU of the whole test process (senders, receiver and capture) per
	// packet: the backends differ only in the capture part.
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/packet")
}

// processCPU returns the user+system CPU time this process has used.
func processCPU() time.Duration {
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
