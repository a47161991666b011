package capture

import (
	"errors"
	"fmt"
	"time"

	"golang.org/x/sys/unix"

	"github.com/gohogs/gohogs/internal/flowbpf"
)

// ebpfError is a failure to load or attach the eBPF programs: the kernel or
// the privileges do not allow the ebpf backend, so the default backend
// falls back to afpacket.
type ebpfError struct{ err error }

func (e *ebpfError) Error() string { return "eBPF: " + e.err.Error() }
func (e *ebpfError) Unwrap() error { return e.err }

// ebpfSource is one interface counted in the kernel. Its read hands over
// the first packets of flows, which the programs copy up; every other
// packet stays in the interface's flow map until Collect takes it out.
type ebpfSource struct {
	att      *flowbpf.Attachment
	ev       *flowbpf.Events
	e        flowbpf.Event
	draining bool // a burst is being read: do not wait between its packets
	name     string
	index    int
	ctl      int // an AF_INET socket in the capture's namespace, to look at the interface
	promisc  int // an AF_PACKET socket holding the promiscuous membership, or -1
}

// openEBPF attaches f's counter (loaded at f's first open, kept across
// reopens so that no count is lost) to the interface, in the calling
// thread's network namespace.
func (c *Capture) openEBPF(f *iface) (src source, err error) {
	index, err := ifindexOf(f.link.Name)
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	ctr := f.ctr
	f.mu.Unlock()
	if ctr == nil {
		ctr, err = flowbpf.Load(flowbpf.Options{Raw: f.dlink != LinkEthernet, MaxFlows: c.opts.MaxFlows})
		if err != nil {
			return nil, &ebpfError{err}
		}
		f.mu.Lock()
		f.ctr = ctr
		f.mu.Unlock()
	}
	s := &ebpfSource{name: f.link.Name, index: index, ctl: -1, promisc: -1}
	defer func() {
		if err != nil {
			s.close()
		}
	}()
	if s.att, err = ctr.AttachTCX(index, f.lo); err != nil {
		if errors.Is(err, unix.ENODEV) {
			return nil, err
		}
		return nil, &ebpfError{err}
	}
	if s.ev, err = ctr.Events(); err != nil {
		return nil, &ebpfError{err}
	}
	if s.ctl, err = unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0); err != nil {
		return nil, fmt.Errorf("socket: %w", err)
	}
	if c.opts.Promiscuous {
		if s.promisc, err = unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, 0); err != nil {
			return nil, hint(fmt.Errorf("open AF_PACKET socket for promiscuous mode: %w", err))
		}
		mreq := unix.PacketMreq{Ifindex: int32(index), Type: unix.PACKET_MR_PROMISC}
		if err := unix.SetsockoptPacketMreq(s.promisc, unix.SOL_PACKET, unix.PACKET_ADD_MEMBERSHIP, &mreq); err != nil {
			return nil, fmt.Errorf("set promiscuous mode: %w", err)
		}
	}
	return s, nil
}

func (s *ebpfSource) read(fr *frame) error {
	burst := !s.draining
	if s.draining && s.ev.Available() == 0 {
		s.draining, burst = false, true
	}
	err := s.ev.Read(time.Now().Add(afPollTimeout), &s.e)
	if errors.Is(err, flowbpf.ErrTimeout) {
		// A quiet spell: is the interface still there? tcx reports
		// nothing when it goes down or away.
		return s.check()
	}
	if err != nil {
		return err
	}
	if burst {
		// The first packet of a burst: let the burst gather, as the
		// AF_PACKET ring's blocks do (afBlockTimeout), and hand it over
		// whole. One wake-up serves many first packets, and a new
		// flow's lookup starts once its connection has got going: at
		// its very first packet the owner's socket may not be in the
		// fd index yet.
		time.Sleep(afBlockTimeout)
		s.draining = true
	}
	fr.data = s.e.Data
	fr.ts = s.e.Time
	fr.length = s.e.Length
	fr.ifindex = s.e.IfIndex
	fr.ptype = PacketType(s.e.Type)
	return nil
}

// check returns errTimeout while the interface is up with the index it was
// attached to, and ENETDOWN or ENODEV (a transient failure: Run reopens it)
// when it went down or away.
func (s *ebpfSource) check() error {
	ifr, err := unix.NewIfreq(s.name)
	if err != nil {
		return err
	}
	if err := unix.IoctlIfreq(s.ctl, unix.SIOCGIFFLAGS, ifr); err != nil {
		return fmt.Errorf("interface flags: %w", err)
	}
	if ifr.Uint16()&unix.IFF_UP == 0 {
		return fmt.Errorf("interface: %w", unix.ENETDOWN)
	}
	if err := unix.IoctlIfreq(s.ctl, unix.SIOCGIFINDEX, ifr); err != nil {
		return fmt.Errorf("interface index: %w", err)
	}
	if int(ifr.Uint32()) != s.index {
		return fmt.Errorf("interface was replaced: %w", unix.ENODEV)
	}
	return errTimeout
}

// drops is 0: a packet the ring has no room for is counted in the map.
func (s *ebpfSource) drops() uint64 { return 0 }

func (s *ebpfSource) close() {
	if s.ev != nil {
		s.ev.Close()
	}
	if s.att != nil {
		s.att.Close()
	}
	for _, fd := range []int{s.ctl, s.promisc} {
		if fd >= 0 {
			unix.Close(fd)
		}
	}
	s.ev, s.att, s.ctl, s.promisc = nil, nil, -1, -1
}
