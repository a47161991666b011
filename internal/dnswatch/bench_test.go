package dnswatch

import (
	"net/netip"
	"runtime"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"
)

// BenchmarkFrame decodes an answer with a CNAME chain and learns its
// address: the reader's work per answer.
func BenchmarkFrame(b *testing.B) {
	tw := newTestWatcher(Options{})
	f := udpFrame(b, server4, client4, reply(b, "files.example.test", layers.DNSTypeA))
	b.ReportAllocs()
	for b.Loop() {
		tw.d.frame(f, tw.now)
	}
}

// BenchmarkNamesFull learns distinct addresses into a map at its bound
// (each forgets the oldest) and reports the heap per name held.
func BenchmarkNamesFull(b *testing.B) {
	addr := func(i int) netip.Addr { return netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}) }
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	n := newNames(DefaultMaxNames, DefaultMinTTL, DefaultMaxTTL, DefaultConnTTL)
	now := time.Now()
	const name = "a-typical-name.example.test"
	for i := range DefaultMaxNames {
		n.learn(1, addr(i), name, time.Hour, now)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	perName := float64(after.HeapAlloc-before.HeapAlloc) / DefaultMaxNames
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		n.learn(1, addr(DefaultMaxNames+i), name, time.Hour, now)
	}
	b.ReportMetric(perName, "heap-B/name")
}
