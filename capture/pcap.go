//go:build pcap

package capture

import (
	"errors"
	"fmt"
	"strings"

	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcap"
	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// PcapAvailable reports whether this build has the libpcap backend and
// filter expressions (the `pcap` build tag).
const PcapAvailable = true

// compileFilter compiles a filter expression with libpcap for frames of
// link type link, accepting snapLen bytes of each packet.
func compileFilter(link LinkType, snapLen int, expr string) ([]bpf.RawInstruction, error) {
	ins, err := pcap.CompileBPFFilter(layers.LinkType(link), snapLen, expr)
	if err != nil {
		return nil, fmt.Errorf("compile filter %q: %w", expr, err)
	}
	out := make([]bpf.RawInstruction, len(ins))
	for i, in := range ins {
		out[i] = bpf.RawInstruction{Op: in.Code, Jt: in.Jt, Jf: in.Jf, K: in.K}
	}
	return out, nil
}

// pcapSource is one interface read through libpcap.
type pcapSource struct {
	h  *pcap.Handle
	lo bool
}

// openPcap opens interface name with libpcap. libpcap itself drops the
// outgoing copy of packets on loopback. Its errors do not name the
// interface; libpcap's answers that mean the interface is missing, down or
// forbidden carry ENODEV, ENETDOWN or EPERM, as the AF_PACKET backend's do.
func openPcap(name string, lo bool, opts *Options) (source, LinkType, error) {
	in, err := pcap.NewInactiveHandle(name)
	if err != nil {
		return nil, 0, fmt.Errorf("pcap: %w", err)
	}
	defer in.CleanUp()
	for _, err := range []error{
		in.SetSnapLen(opts.SnapLen),
		in.SetPromisc(opts.Promiscuous),
		in.SetTimeout(afPollTimeout),
		in.SetBufferSize(opts.RingBytes),
	} {
		if err != nil {
			return nil, 0, fmt.Errorf("pcap: %w", err)
		}
	}
	h, err := in.Activate()
	if err != nil {
		// gopacket's activate errors are PCAP_ERROR_* codes, told apart
		// only by their text.
		switch msg := strings.ToLower(err.Error()); {
		case strings.Contains(msg, "permission denied"): // PCAP_ERROR_PERM_DENIED
			err = fmt.Errorf("%w: %w", unix.EPERM, err)
		case strings.Contains(msg, "no such device"): // PCAP_ERROR_NO_SUCH_DEVICE
			err = fmt.Errorf("%w: %w", unix.ENODEV, err)
		case strings.Contains(msg, "not up"): // PCAP_ERROR_IFACE_NOT_UP
			err = fmt.Errorf("%w: %w", unix.ENETDOWN, err)
		}
		return nil, 0, hint(fmt.Errorf("pcap: %w", err))
	}
	if opts.Filter != "" {
		if err := h.SetBPFFilter(opts.Filter); err != nil {
			h.Close()
			return nil, 0, fmt.Errorf("filter %q: %w", opts.Filter, err)
		}
	}
	return &pcapSource{h: h, lo: lo}, LinkType(h.LinkType()), nil
}

func (s *pcapSource) read(fr *frame) error {
	data, ci, err := s.h.ZeroCopyReadPacketData()
	if err != nil {
		if errors.Is(err, pcap.NextErrorTimeoutExpired) {
			return errTimeout
		}
		return fmt.Errorf("pcap: %w: %v", err, s.h.Error())
	}
	fr.data, fr.ts, fr.length, fr.ifindex = data, ci.Timestamp, ci.Length, ci.InterfaceIndex
	// libpcap's Ethernet frames do not say; on loopback the outgoing copy
	// was filtered out, so what is left arrived.
	fr.ptype = PacketUnknown
	if s.lo {
		fr.ptype = PacketHost
	}
	return nil
}

func (s *pcapSource) drops() uint64 {
	st, err := s.h.Stats()
	if err != nil {
		return 0
	}
	return uint64(st.PacketsDropped)
}

func (s *pcapSource) close() { s.h.Close() }
