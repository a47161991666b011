package netnstest

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// Pair is two network namespaces, A and B, joined by a veth pair: IfA lives in
// A and IfB in B. A has AddrA4/AddrA6, B has AddrB4/AddrB6 (private ranges,
// reachable only inside the two namespaces). Loopback is up in both.
type Pair struct {
	NSA, NSB string
	IfA, IfB string
	AddrA4   netip.Addr
	AddrB4   netip.Addr
	AddrA6   netip.Addr
	AddrB6   netip.Addr
	// OffloadsOff says that ethtool turned TSO, GSO and GRO off on both
	// ends, so that every captured frame is a frame on the wire. Without
	// ethtool the pair works but the kernel may hand a capture frames of up
	// to 64 KiB.
	OffloadsOff bool
}

// upLimit bounds the wait for both ends of a new veth to come up.
const upLimit = 5 * time.Second

// NewPair creates the namespaces and the veth pair (see CreatePair) for
// test t, and removes them with t.Cleanup, even when the test fails.
func NewPair(t testing.TB) *Pair {
	t.Helper()
	Skip(t)
	p, err := CreatePair("gh")
	if err != nil {
		t.Fatal(err)
	}
	RemoveWhenDone(t, p)
	return p
}

// CreatePair creates two namespaces named prefix+"A"/"B" and a veth pair
// named prefix+"a"/"b" (each followed by an id unique to the process, see
// UniqueName), brings them up with addresses, turns offloads off when
// ethtool is there, and waits (at most 5 s) until both ends are up. The
// caller removes the pair with Remove, also when it fails later; if
// CreatePair fails it has removed what it made.
func CreatePair(prefix string) (*Pair, error) {
	id := uniqueID()
	p := &Pair{
		NSA:    prefix + "A" + id,
		NSB:    prefix + "B" + id,
		IfA:    fitName(prefix+"a", id),
		IfB:    fitName(prefix+"b", id),
		AddrA4: netip.MustParseAddr("10.250.0.1"),
		AddrB4: netip.MustParseAddr("10.250.0.2"),
		AddrA6: netip.MustParseAddr("fd00:250::1"),
		AddrB6: netip.MustParseAddr("fd00:250::2"),
	}
	if err := p.setUp(); err != nil {
		return nil, errors.Join(fmt.Errorf("veth pair %s–%s: %w", p.NSA, p.NSB, err), p.Remove())
	}
	return p, nil
}

func (p *Pair) setUp() error {
	cmds := [][]string{
		{"ip", "netns", "add", p.NSA},
		{"ip", "netns", "add", p.NSB},
		// Different interface indexes at the two ends (each namespace is
		// fresh: only lo, index 1): with equal ones the kernel does not
		// treat the carrier change as urgent and brings one end's operstate
		// up only about a second later, and IPv6 drops what is sent before.
		{"ip", "link", "add", p.IfA, "netns", p.NSA, "index", "2", "type", "veth", "peer", "name", p.IfB, "netns", p.NSB, "index", "3"},
		{"ip", "-n", p.NSA, "link", "set", "lo", "up"},
		{"ip", "-n", p.NSB, "link", "set", "lo", "up"},
		{"ip", "-n", p.NSA, "addr", "add", p.AddrA4.String() + "/24", "dev", p.IfA},
		{"ip", "-n", p.NSB, "addr", "add", p.AddrB4.String() + "/24", "dev", p.IfB},
		// nodad: the addresses are never tentative, usable at once.
		{"ip", "-n", p.NSA, "addr", "add", p.AddrA6.String() + "/64", "dev", p.IfA, "nodad"},
		{"ip", "-n", p.NSB, "addr", "add", p.AddrB6.String() + "/64", "dev", p.IfB, "nodad"},
		// No IPv6 link-local chatter (router solicitations, MLD) to blur byte counts.
		{"ip", "netns", "exec", p.NSA, "sysctl", "-qw", "net.ipv6.conf." + p.IfA + ".addr_gen_mode=1"},
		{"ip", "netns", "exec", p.NSB, "sysctl", "-qw", "net.ipv6.conf." + p.IfB + ".addr_gen_mode=1"},
	}
	for _, c := range cmds {
		if err := run(c...); err != nil {
			return err
		}
	}
	// Offloads off, when ethtool is there, before the links come up:
	// captured frames then match the wire from the first one.
	if _, err := exec.LookPath("ethtool"); err == nil {
		p.OffloadsOff = true
		for _, x := range [][2]string{{p.NSA, p.IfA}, {p.NSB, p.IfB}} {
			if run("ip", "netns", "exec", x[0], "ethtool", "-K", x[1], "tso", "off", "gso", "off", "gro", "off") != nil {
				p.OffloadsOff = false
			}
		}
	}
	for _, x := range [][2]string{{p.NSA, p.IfA}, {p.NSB, p.IfB}} {
		if err := run("ip", "-n", x[0], "link", "set", x[1], "up"); err != nil {
			return err
		}
	}
	deadline := time.Now().Add(upLimit)
	for _, x := range [][2]string{{p.NSA, p.IfA}, {p.NSB, p.IfB}} {
		if err := waitUp(x[0], x[1], deadline); err != nil {
			return err
		}
	}
	return nil
}

// Remove deletes both namespaces, and with them the veth pair. It removes
// only what is still there, so calling it twice is harmless.
func (p *Pair) Remove() error {
	return errors.Join(removeNS(p.NSA), removeNS(p.NSB))
}

// removeNS deletes the named namespace if it exists.
func removeNS(ns string) error {
	if _, err := os.Stat("/run/netns/" + ns); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	return run("ip", "netns", "del", ns)
}

// run runs a command and returns an error with its output if it fails.
func run(args ...string) error {
	if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
		return fmt.Errorf("%s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// waitUp waits until interface ifname in namespace ns ("": the caller's)
// has its carrier (IFF_LOWER_UP: for a veth, both ends are up) and its
// operational state is up (IPv6 sends nothing before), or the deadline
// passes. It listens to the kernel's link notifications, starting with a
// dump of the current links, instead of polling.
func waitUp(ns, ifname string, deadline time.Time) error {
	nsh, err := nsHandle(ns)
	if err != nil {
		return fmt.Errorf("open netns %s: %w", ns, err)
	}
	defer nsh.Close()
	updates := make(chan netlink.LinkUpdate, 64)
	done := make(chan struct{})
	errc := make(chan error, 1)
	err = netlink.LinkSubscribeWithOptions(updates, done, netlink.LinkSubscribeOptions{
		Namespace:    &nsh,
		ListExisting: true,
		ErrorCallback: func(err error) {
			select {
			case errc <- err:
			default:
			}
		},
	})
	if err != nil {
		return fmt.Errorf("watch links in netns %s: %w", ns, err)
	}
	defer func() {
		close(done)
		// The subscription's reader may be blocked on a send: let it
		// finish; it closes updates when its socket is closed.
		go func() {
			for range updates {
			}
		}()
	}()
	timer := time.NewTimer(time.Until(deadline))
	defer timer.Stop()
	for {
		select {
		case u, ok := <-updates:
			if !ok {
				return fmt.Errorf("watch links in netns %s: subscription ended", ns)
			}
			if a := u.Link.Attrs(); a.Name == ifname && u.IfInfomsg.Flags&unix.IFF_LOWER_UP != 0 && a.OperState == netlink.OperUp {
				return nil
			}
		case err := <-errc:
			return fmt.Errorf("watch links in netns %s: %w", ns, err)
		case <-timer.C:
			return fmt.Errorf("veth %s in %s not up after %v", ifname, ns, upLimit)
		}
	}
}
