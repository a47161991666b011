package flowbpf

import (
	"fmt"

	"github.com/cilium/ebpf"
)

// skbContext is struct __sk_buff as BPF_PROG_TEST_RUN takes it: only the
// fields the kernel lets a test set (gso_segs, gso_size here) may be non-zero.
type skbContext [48]uint32

const (
	skbGSOSegs = 164 / 4
	skbGSOSize = 176 / 4
)

// RunIngress runs the ingress program once on frame, through the kernel's
// BPF_PROG_TEST_RUN, as if frame had arrived (from its first byte: the
// Ethernet header, or the IP header when loaded with Options.Raw) in an skb
// carrying gsoSegs segments of gsoSize bytes (0: not GSO). Its counts,
// events and statistics are those of a real packet. For tests of the
// parser against capture.Decode, and benchmarks.
func (c *Counter) RunIngress(frame []byte, gsoSegs, gsoSize uint32) error {
	var ctx skbContext
	ctx[skbGSOSegs], ctx[skbGSOSize] = gsoSegs, gsoSize
	if _, err := c.objs.GohogsIngress.Run(&ebpf.RunOptions{Data: frame, Context: ctx}); err != nil {
		return fmt.Errorf("test run of the ingress program: %w", err)
	}
	return nil
}

// BenchmarkIngress runs the ingress program repeat times on frame through
// BPF_PROG_TEST_RUN and returns the kernel's mean nanoseconds per run.
func (c *Counter) BenchmarkIngress(frame []byte, repeat int) (float64, error) {
	_, d, err := c.objs.GohogsIngress.Benchmark(frame, repeat, nil)
	if err != nil {
		return 0, fmt.Errorf("benchmark the ingress program: %w", err)
	}
	return float64(d.Nanoseconds()), nil
}
