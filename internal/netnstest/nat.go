package netnstest

import (
	"errors"
	"fmt"
	"net/netip"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// NAT is three namespaces standing for a host with a container behind NAT:
// H, the host, is joined to R (standing for the outside world) by the
// uplink veth (IfUp in H, IfR in R), and to C, the container, by a second
// veth (IfCont in H, IfC in C), whose H end is enslaved to a bridge (IfBr)
// when the NAT was made with a bridge. H forwards between them, masquerades
// (IPv4 and IPv6) what leaves through the uplink, and publishes TCP port
// Published of its uplink addresses as port Container of C (DNAT), all
// with nftables (table Table). C's default routes lead to H; R has no route
// to C: C's addresses are reached only through the NAT. Loopback is up
// everywhere; offloads are off, when ethtool is there, on every veth end.
type NAT struct {
	NSH, NSR, NSC string
	IfUp, IfR     string
	IfCont, IfC   string
	IfBr          string // "" without a bridge
	// The uplink's addresses: H's and R's.
	UpH4, UpR4, UpH6, UpR6 netip.Addr
	// The container link's addresses: H's (on the bridge, if any) and C's.
	ContH4, C4, ContH6, C6 netip.Addr
	Published, Container   uint16
	Table                  string
	OffloadsOff            bool
}

// NATOptions says how to build a NAT.
type NATOptions struct {
	// Bridge puts H's end of the container's veth in a bridge, which holds
	// H's addresses on that link (as podman's and Docker's networks do).
	Bridge bool
	// Published and Container are the published port and the container's
	// port it leads to; defaults 8080 and 7301.
	Published, Container uint16
}

// NewNAT makes a NAT (see CreateNAT) for test t and removes it with
// t.Cleanup, even when the test fails. It skips t without nft.
func NewNAT(t testing.TB, o NATOptions) *NAT {
	t.Helper()
	Skip(t)
	if _, err := exec.LookPath("nft"); err != nil {
		t.Skip("needs nft (nftables)")
	}
	n, err := CreateNAT("gn", o)
	if err != nil {
		t.Fatal(err)
	}
	RemoveWhenDone(t, n)
	return n
}

// CreateNAT makes the three namespaces (prefix+"H"/"R"/"C" and an id unique
// to the process), the veths (prefix+"u"/"r"/"c"/"k", and "w" for the
// bridge) and the rules, and waits (at most 5 s) until every link is up.
// The caller removes it with Remove, also when it fails later; if CreateNAT
// fails it has removed what it made.
func CreateNAT(prefix string, o NATOptions) (*NAT, error) {
	if o.Published == 0 {
		o.Published = 8080
	}
	if o.Container == 0 {
		o.Container = 7301
	}
	id := uniqueID()
	n := &NAT{
		NSH: prefix + "H" + id, NSR: prefix + "R" + id, NSC: prefix + "C" + id,
		IfUp: fitName(prefix+"u", id), IfR: fitName(prefix+"r", id),
		IfCont: fitName(prefix+"c", id), IfC: fitName(prefix+"k", id),
		UpH4: netip.MustParseAddr("10.251.1.1"), UpR4: netip.MustParseAddr("10.251.1.2"),
		UpH6: netip.MustParseAddr("fd00:251:1::1"), UpR6: netip.MustParseAddr("fd00:251:1::2"),
		ContH4: netip.MustParseAddr("10.251.2.1"), C4: netip.MustParseAddr("10.251.2.2"),
		ContH6: netip.MustParseAddr("fd00:251:2::1"), C6: netip.MustParseAddr("fd00:251:2::2"),
		Published: o.Published, Container: o.Container,
		Table: "gohogs_nat_" + id,
	}
	if o.Bridge {
		n.IfBr = fitName(prefix+"w", id)
	}
	if err := n.setUp(); err != nil {
		return nil, errors.Join(fmt.Errorf("NAT %s: %w", n.NSH, err), n.Remove())
	}
	return n, nil
}

func (n *NAT) setUp() error {
	hostIf := n.IfCont // where H's container-side addresses go
	if n.IfBr != "" {
		hostIf = n.IfBr
	}
	cmds := [][]string{
		{"ip", "netns", "add", n.NSH},
		{"ip", "netns", "add", n.NSR},
		{"ip", "netns", "add", n.NSC},
		// Distinct indexes at the ends of each veth: see Pair.setUp.
		{"ip", "link", "add", n.IfUp, "netns", n.NSH, "index", "2", "type", "veth", "peer", "name", n.IfR, "netns", n.NSR, "index", "3"},
		{"ip", "link", "add", n.IfCont, "netns", n.NSH, "index", "4", "type", "veth", "peer", "name", n.IfC, "netns", n.NSC, "index", "5"},
	}
	if n.IfBr != "" {
		cmds = append(cmds,
			[]string{"ip", "-n", n.NSH, "link", "add", n.IfBr, "index", "6", "type", "bridge"},
			[]string{"ip", "-n", n.NSH, "link", "set", n.IfCont, "master", n.IfBr},
		)
	}
	for _, ns := range []string{n.NSH, n.NSR, n.NSC} {
		cmds = append(cmds, []string{"ip", "-n", ns, "link", "set", "lo", "up"})
	}
	for _, x := range []struct {
		ns, ifc string
		a4, a6  netip.Addr
	}{{n.NSH, n.IfUp, n.UpH4, n.UpH6}, {n.NSR, n.IfR, n.UpR4, n.UpR6}, {n.NSH, hostIf, n.ContH4, n.ContH6}, {n.NSC, n.IfC, n.C4, n.C6}} {
		cmds = append(cmds,
			[]string{"ip", "netns", "exec", x.ns, "sysctl", "-qw", "net.ipv6.conf." + x.ifc + ".addr_gen_mode=1"},
			[]string{"ip", "-n", x.ns, "addr", "add", x.a4.String() + "/24", "dev", x.ifc},
			[]string{"ip", "-n", x.ns, "addr", "add", x.a6.String() + "/64", "dev", x.ifc, "nodad"},
		)
	}
	// H forwards to C packets whose source is not H's (R's, un-NAT'd or
	// DNAT'd): the kernel solicits C's link address for them from a
	// link-local address only, and without one C's entry fails once it
	// needs probing (after 15-45 s, sooner than a TCP ACK confirms it).
	cmds = append(cmds,
		[]string{"ip", "-n", n.NSH, "addr", "add", "fe80::1/64", "dev", hostIf, "nodad"},
		[]string{"ip", "netns", "exec", n.NSH, "sysctl", "-qw", "net.ipv4.ip_forward=1"},
		[]string{"ip", "netns", "exec", n.NSH, "sysctl", "-qw", "net.ipv6.conf.all.forwarding=1"},
	)
	for _, c := range cmds {
		if err := run(c...); err != nil {
			return err
		}
	}
	if _, err := exec.LookPath("ethtool"); err == nil {
		n.OffloadsOff = true
		for _, x := range [][2]string{{n.NSH, n.IfUp}, {n.NSR, n.IfR}, {n.NSH, n.IfCont}, {n.NSC, n.IfC}} {
			if run("ip", "netns", "exec", x[0], "ethtool", "-K", x[1], "tso", "off", "gso", "off", "gro", "off") != nil {
				n.OffloadsOff = false
			}
		}
	}
	up := [][2]string{{n.NSH, n.IfUp}, {n.NSR, n.IfR}, {n.NSH, n.IfCont}, {n.NSC, n.IfC}}
	if n.IfBr != "" {
		up = append(up, [2]string{n.NSH, n.IfBr})
	}
	for _, x := range up {
		if err := run("ip", "-n", x[0], "link", "set", x[1], "up"); err != nil {
			return err
		}
	}
	for _, c := range [][]string{
		{"ip", "-n", n.NSC, "route", "add", "default", "via", n.ContH4.String()},
		{"ip", "-n", n.NSC, "-6", "route", "add", "default", "via", n.ContH6.String()},
	} {
		if err := run(c...); err != nil {
			return err
		}
	}
	if err := n.rules(); err != nil {
		return err
	}
	deadline := time.Now().Add(upLimit)
	for _, x := range up {
		if err := waitUp(x[0], x[1], deadline); err != nil {
			return err
		}
	}
	return nil
}

// rules loads H's nftables table: masquerade out of the uplink, the
// published port in.
func (n *NAT) rules() error {
	pub, cont := strconv.Itoa(int(n.Published)), strconv.Itoa(int(n.Container))
	ruleset := fmt.Sprintf(`table inet %s {
	chain pre {
		type nat hook prerouting priority dstnat; policy accept;
		iifname %q meta nfproto ipv4 tcp dport %s dnat ip to %s:%s
		iifname %q meta nfproto ipv6 tcp dport %s dnat ip6 to [%s]:%s
	}
	chain post {
		type nat hook postrouting priority srcnat; policy accept;
		oifname %q masquerade
	}
}
`, n.Table, n.IfUp, pub, n.C4, cont, n.IfUp, pub, n.C6, cont, n.IfUp)
	cmd := exec.Command("ip", "netns", "exec", n.NSH, "nft", "-f", "-")
	cmd.Stdin = strings.NewReader(ruleset)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("nft in %s: %w: %s", n.NSH, err, out)
	}
	return nil
}

// Remove deletes the three namespaces, and with them the links and rules.
// It removes only what is still there, so calling it twice is harmless.
func (n *NAT) Remove() error {
	return errors.Join(removeNS(n.NSH), removeNS(n.NSR), removeNS(n.NSC))
}
