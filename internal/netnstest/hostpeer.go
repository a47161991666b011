package netnstest

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	vnetns "github.com/vishvananda/netns"
)

// HostPeer is a namespace NS joined to the caller's own namespace by a veth
// (IfHost in the caller's, IfPeer in NS), with AddrHost4 and AddrPeer4 on a
// /24 of 10.252.0.0/16 that no route of the caller's namespace uses yet:
// a peer behind the host for traffic that must leave through the host's
// routing (a container's, NAT'd by its runtime) and reach nothing else.
// Deleting NS removes both ends of the veth.
type HostPeer struct {
	NS                   string
	IfHost, IfPeer       string
	AddrHost4, AddrPeer4 netip.Addr
	OffloadsOff          bool
}

// NewHostPeer makes a HostPeer (see CreateHostPeer) for test t and removes
// it with t.Cleanup, even when the test fails.
func NewHostPeer(t testing.TB) *HostPeer {
	t.Helper()
	Skip(t)
	h, err := CreateHostPeer("gp")
	if err != nil {
		t.Fatal(err)
	}
	RemoveWhenDone(t, h)
	return h
}

// CreateHostPeer makes the namespace (prefix+"P" and an id unique to the
// process) and the veth (prefix+"h"/"p"), brings them up with addresses and
// waits (at most 5 s) until both ends are up. The caller removes it with
// Remove; if CreateHostPeer fails it has removed what it made.
func CreateHostPeer(prefix string) (*HostPeer, error) {
	id := uniqueID()
	h := &HostPeer{NS: prefix + "P" + id, IfHost: fitName(prefix+"h", id), IfPeer: fitName(prefix+"p", id)}
	if err := h.setUp(); err != nil {
		return nil, errors.Join(fmt.Errorf("host peer %s: %w", h.NS, err), h.Remove())
	}
	return h, nil
}

func (h *HostPeer) setUp() error {
	if err := h.pickSubnet(); err != nil {
		return err
	}
	cmds := [][]string{
		{"ip", "netns", "add", h.NS},
		{"ip", "link", "add", h.IfHost, "type", "veth", "peer", "name", h.IfPeer, "netns", h.NS},
		{"ip", "-n", h.NS, "link", "set", "lo", "up"},
		{"sysctl", "-qw", "net.ipv6.conf." + h.IfHost + ".disable_ipv6=1"},
		{"ip", "netns", "exec", h.NS, "sysctl", "-qw", "net.ipv6.conf." + h.IfPeer + ".disable_ipv6=1"},
		{"ip", "addr", "add", h.AddrHost4.String() + "/24", "dev", h.IfHost},
		{"ip", "-n", h.NS, "addr", "add", h.AddrPeer4.String() + "/24", "dev", h.IfPeer},
	}
	for _, c := range cmds {
		if err := run(c...); err != nil {
			return err
		}
	}
	if run("ethtool", "-K", h.IfHost, "tso", "off", "gso", "off", "gro", "off") == nil &&
		run("ip", "netns", "exec", h.NS, "ethtool", "-K", h.IfPeer, "tso", "off", "gso", "off", "gro", "off") == nil {
		h.OffloadsOff = true
	}
	if err := run("ip", "link", "set", h.IfHost, "up"); err != nil {
		return err
	}
	if err := run("ip", "-n", h.NS, "link", "set", h.IfPeer, "up"); err != nil {
		return err
	}
	deadline := time.Now().Add(upLimit)
	if err := waitUp("", h.IfHost, deadline); err != nil {
		return err
	}
	return waitUp(h.NS, h.IfPeer, deadline)
}

// pickSubnet chooses a /24 of 10.252.0.0/16, starting from one derived
// from the process id, that the caller's namespace has no route into.
func (h *HostPeer) pickSubnet() error {
	routes, err := netlink.RouteList(nil, netlink.FAMILY_V4)
	if err != nil {
		return fmt.Errorf("routes: %w", err)
	}
	start := os.Getpid() % 250
	for i := range 250 {
		n := byte((start + i) % 250)
		p := netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 252, n, 0}), 24)
		used := false
		for _, r := range routes {
			if r.Dst == nil {
				continue
			}
			if a, ok := netip.AddrFromSlice(r.Dst.IP); ok && p.Contains(a.Unmap()) {
				used = true
				break
			}
		}
		if !used {
			h.AddrHost4 = netip.AddrFrom4([4]byte{10, 252, n, 1})
			h.AddrPeer4 = netip.AddrFrom4([4]byte{10, 252, n, 2})
			return nil
		}
	}
	return errors.New("no free /24 in 10.252.0.0/16")
}

// nsHandle opens namespace ns by name, "" for the calling thread's.
func nsHandle(ns string) (vnetns.NsHandle, error) {
	if ns == "" {
		return vnetns.Get()
	}
	return vnetns.GetFromName(ns)
}

// Remove deletes the namespace, and with it both ends of the veth.
func (h *HostPeer) Remove() error { return removeNS(h.NS) }
