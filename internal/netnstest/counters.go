package netnstest

import (
	"fmt"

	"github.com/vishvananda/netlink"
	vnetns "github.com/vishvananda/netns"
)

// Counters is a snapshot of an interface's kernel statistics.
type Counters struct {
	RxPackets, TxPackets, RxBytes, TxBytes uint64
}

// Sub is c minus an earlier snapshot o: what the interface carried between
// the two.
func (c Counters) Sub(o Counters) Counters {
	return Counters{c.RxPackets - o.RxPackets, c.TxPackets - o.TxPackets, c.RxBytes - o.RxBytes, c.TxBytes - o.TxBytes}
}

// ReadCounters reads the statistics of interface ifname in namespace ns (""
// for the caller's) over netlink: the four counters of one snapshot, the
// same the kernel shows in /sys/class/net/IF/statistics, with no command
// run.
func ReadCounters(ns, ifname string) (Counters, error) {
	h, err := handleIn(ns)
	if err != nil {
		return Counters{}, err
	}
	defer h.Close()
	l, err := h.LinkByName(ifname)
	if err != nil {
		return Counters{}, fmt.Errorf("interface %s in netns %q: %w", ifname, ns, err)
	}
	st := l.Attrs().Statistics
	if st == nil {
		return Counters{}, fmt.Errorf("interface %s in netns %q: the kernel sent no statistics", ifname, ns)
	}
	return Counters{RxPackets: st.RxPackets, TxPackets: st.TxPackets, RxBytes: st.RxBytes, TxBytes: st.TxBytes}, nil
}

// handleIn is a netlink handle in namespace ns ("": the caller's).
func handleIn(ns string) (*netlink.Handle, error) {
	if ns == "" {
		h, err := netlink.NewHandle()
		if err != nil {
			return nil, fmt.Errorf("netlink: %w", err)
		}
		return h, nil
	}
	nsh, err := vnetns.GetFromName(ns)
	if err != nil {
		return nil, fmt.Errorf("open netns %s: %w", ns, err)
	}
	defer nsh.Close()
	h, err := netlink.NewHandleAt(nsh)
	if err != nil {
		return nil, fmt.Errorf("netlink in netns %s: %w", ns, err)
	}
	return h, nil
}
