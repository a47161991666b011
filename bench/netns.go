package main

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

var nameCounter atomic.Uint32

// uniqueName returns prefix, this process's pid and a counter, cut to the
// 15-byte interface name limit (the same scheme as internal/netnstest).
func uniqueName(prefix string) string {
	n := fmt.Sprintf("%s%xx%x", prefix, os.Getpid(), nameCounter.Add(1)) // x: not a hex digit, so pid and counter never run together
	if len(n) > 15 {
		n = prefix + n[len(n)-15+len(prefix):]
	}
	return n
}

// cleanups is what the suite made, undone in reverse order at the end,
// also on error or signal.
type cleanups struct {
	mu  sync.Mutex
	fns []func()
}

func (c *cleanups) add(f func()) {
	c.mu.Lock()
	c.fns = append(c.fns, f)
	c.mu.Unlock()
}

// run undoes everything, once.
func (c *cleanups) run() {
	c.mu.Lock()
	fns := c.fns
	c.fns = nil
	c.mu.Unlock()
	for i := len(fns) - 1; i >= 0; i-- {
		fns[i]()
	}
}

// pair is two namespaces joined by a veth, offloads off. A holds the
// clients and the monitors, B the server.
type pair struct {
	NSA, NSB string
	IfA, IfB string
	A4, B4   string
	A6, B6   string
}

func runCmd(args ...string) error {
	out, err := exec.Command(args[0], args[1:]...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// newPair creates the pair and registers its removal with cl.
func newPair(cl *cleanups) (*pair, error) {
	p := &pair{
		NSA: uniqueName("gbA"), NSB: uniqueName("gbB"),
		IfA: uniqueName("gba"), IfB: uniqueName("gbb"),
		A4: "10.251.0.1", B4: "10.251.0.2",
		A6: "fd00:251::1", B6: "fd00:251::2",
	}
	cl.add(func() {
		_ = exec.Command("ip", "netns", "del", p.NSA).Run()
		_ = exec.Command("ip", "netns", "del", p.NSB).Run()
	})
	cmds := [][]string{
		{"ip", "netns", "add", p.NSA},
		{"ip", "netns", "add", p.NSB},
		{"ip", "link", "add", p.IfA, "netns", p.NSA, "type", "veth", "peer", "name", p.IfB, "netns", p.NSB},
		{"ip", "-n", p.NSA, "link", "set", "lo", "up"},
		{"ip", "-n", p.NSB, "link", "set", "lo", "up"},
		{"ip", "-n", p.NSA, "addr", "add", p.A4 + "/24", "dev", p.IfA},
		{"ip", "-n", p.NSB, "addr", "add", p.B4 + "/24", "dev", p.IfB},
		{"ip", "-n", p.NSA, "addr", "add", p.A6 + "/64", "dev", p.IfA, "nodad"},
		{"ip", "-n", p.NSB, "addr", "add", p.B6 + "/64", "dev", p.IfB, "nodad"},
		{"ip", "netns", "exec", p.NSA, "sysctl", "-qw", "net.ipv6.conf." + p.IfA + ".addr_gen_mode=1"},
		{"ip", "netns", "exec", p.NSB, "sysctl", "-qw", "net.ipv6.conf." + p.IfB + ".addr_gen_mode=1"},
		// Short connection storms leave TIME_WAIT sockets; let the client reuse ports.
		{"ip", "netns", "exec", p.NSA, "sysctl", "-qw", "net.ipv4.tcp_tw_reuse=1"},
		{"ip", "-n", p.NSA, "link", "set", p.IfA, "up"},
		{"ip", "-n", p.NSB, "link", "set", p.IfB, "up"},
		{"ip", "netns", "exec", p.NSA, "ethtool", "-K", p.IfA, "tso", "off", "gso", "off", "gro", "off"},
		{"ip", "netns", "exec", p.NSB, "ethtool", "-K", p.IfB, "tso", "off", "gso", "off", "gro", "off"},
	}
	for _, c := range cmds {
		if err := runCmd(c...); err != nil {
			return nil, err
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for _, x := range [][2]string{{p.NSA, p.IfA}, {p.NSB, p.IfB}} {
		for {
			out, err := exec.Command("ip", "-n", x[0], "addr", "show", "dev", x[1]).Output()
			s := string(out)
			if err == nil && strings.Contains(s, "LOWER_UP") && !strings.Contains(s, "tentative") {
				break
			}
			if time.Now().After(deadline) {
				return nil, fmt.Errorf("veth %s in %s not ready after 5s: %v %s", x[1], x[0], err, s)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	return p, nil
}

// counters is a snapshot of an interface's kernel statistics.
type counters struct {
	RxPackets, TxPackets, RxBytes, TxBytes uint64
}

func (c counters) sub(o counters) counters {
	return counters{c.RxPackets - o.RxPackets, c.TxPackets - o.TxPackets, c.RxBytes - o.RxBytes, c.TxBytes - o.TxBytes}
}

// readCounters reads /sys/class/net/IF/statistics in namespace ns ("": the
// current one) with one command.
func readCounters(ns, ifname string) (counters, error) {
	dir := "/sys/class/net/" + ifname + "/statistics/"
	files := []string{dir + "rx_packets", dir + "tx_packets", dir + "rx_bytes", dir + "tx_bytes"}
	var out []byte
	var err error
	if ns == "" {
		var b strings.Builder
		for _, f := range files {
			d, e := os.ReadFile(f)
			if e != nil {
				return counters{}, fmt.Errorf("read %s: %w", f, e)
			}
			b.Write(d)
		}
		out = []byte(b.String())
	} else {
		out, err = exec.Command("ip", append([]string{"netns", "exec", ns, "cat"}, files...)...).Output()
		if err != nil {
			return counters{}, fmt.Errorf("read counters of %s in netns %s: %w", ifname, ns, err)
		}
	}
	f := strings.Fields(string(out))
	if len(f) != 4 {
		return counters{}, fmt.Errorf("counters of %s: got %q", ifname, out)
	}
	var v [4]uint64
	for i := range v {
		v[i], err = strconv.ParseUint(f[i], 10, 64)
		if err != nil {
			return counters{}, fmt.Errorf("counters of %s: %w", ifname, err)
		}
	}
	return counters{v[0], v[1], v[2], v[3]}, nil
}
