// Package capture turns the traffic of Linux network interfaces, or of
// pcap/pcapng files, into a stream of small decoded Packet records.
//
// Design:
//
//   - Live capture uses one AF_PACKET socket with a TPACKET_V3 memory-mapped
//     ring per interface, read in place with golang.org/x/sys/unix (no cgo).
//     The snap length is enforced by a classic BPF program attached to the
//     socket (its return value is the number of bytes kept), so only headers
//     are copied into the ring; Packet.Length is the original length. The
//     socket is bound to the interface only after the filter is attached, so
//     nothing unfiltered is ever queued. It is non-blocking and waits in Go's
//     network poller, so no OS thread is parked in poll(2).
//     gopacket's afpacket was used first; it was replaced because it does not
//     expose the kernel's packet type and its blocking poll(2) cost as much
//     system time as the whole capture (bench/RESULTS.md, bulk TCP).
//     Built with the tag `pcap`, a libpcap backend (gopacket/pcap) can be
//     chosen instead, and a filter expression is compiled by libpcap and
//     attached to whichever backend runs.
//   - On a loopback interface AF_PACKET sees each packet twice, as it leaves
//     and as it arrives. The socket's BPF program drops the outgoing copy
//     (ancillary load of skb->pkt_type == PACKET_OUTGOING), ahead of the
//     user's filter, so each packet is counted once.
//   - Packet.Type is the kernel's sll_pkttype on AF_PACKET rings (outgoing,
//     to this host, multicast, broadcast, to another host); on loopback
//     every packet handed on is PacketHost (the outgoing copy was dropped);
//     SLL and SLL2 frames (capture files, or libpcap's cooked links) carry
//     the kernel's value; libpcap's Ethernet frames and other capture files
//     give PacketUnknown. Later stages tell sent from received with
//     LocalAddrs, which works for every source.
//   - Interfaces that are not Ethernet or loopback (tun, PPP, tunnels) are
//     read with a SOCK_DGRAM socket and decoded as raw IP; Link.Type still
//     says what libpcap would report (12 for tun, 113 for PPP).
//   - Decoding (Decode) is hand-written: it reads the few header fields the
//     accounting needs straight from the captured bytes, never past them,
//     and allocates nothing (about 11 ns per packet, against about 100 ns
//     for the same work with gopacket's DecodingLayerParser; see
//     BenchmarkDecode and BenchmarkDecodeGopacket). A frame that does not
//     decode is counted as malformed and not handed on.
//   - Each interface is read by its own goroutine. When an interface goes
//     down or disappears, its goroutine reports it once through
//     Options.OnError and reopens it, with backoff, in the network namespace
//     Open ran in; the other interfaces are not affected.
//   - LocalAddrs follows the host's addresses through netlink notifications
//     and answers Contains lock-free from an immutable set.
package capture

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/gohogs/gohogs/internal/netns"
)

// Options selects what Open captures.
type Options struct {
	// Interfaces are the names of the interfaces to capture on.
	Interfaces []string
	// Promiscuous puts the interfaces into promiscuous mode.
	Promiscuous bool
	// SnapLen is how many bytes of each packet are captured; 0 means
	// DefaultSnapLen, enough for the headers.
	SnapLen int
	// Filter is a BPF filter expression (nethogs -f). It is compiled by
	// libpcap, so it needs the `pcap` build tag; without it a non-empty
	// Filter is an error.
	Filter string
	// Backend is the capture backend; the zero value is AF_PACKET.
	// BackendPcap needs a build with the `pcap` tag.
	Backend Backend
	// RingBytes is the size of each interface's capture ring (afpacket) or
	// kernel buffer (pcap); 0 means DefaultRingBytes.
	RingBytes int
	// OnError, if set, is called once each time an interface fails while
	// Run is running (it went down or disappeared). Run then reopens the
	// interface with backoff until it is back. It is called from the
	// interface's goroutine.
	OnError func(iface string, err error)
}

// DefaultSnapLen is the snap length used when Options.SnapLen is 0: room for
// an Ethernet header with two VLAN tags, an IPv6 header with extension
// headers and the transport ports.
const DefaultSnapLen = 128

// DefaultRingBytes is the ring size per interface when Options.RingBytes is 0.
// The whole ring is resident from the start (the kernel maps every page at
// mmap), so it is most of gohogs's memory. 4 MiB holds about 20,000
// header-only frames, tens of milliseconds at the highest rate this
// project's 2-core machine makes (no drops at ~400k frames/s, bench/), and
// twice libpcap's default buffer.
const DefaultRingBytes = 4 << 20

// Link describes one opened interface.
type Link struct {
	Name  string
	Index int
	// Type is the DLT libpcap would report for the interface (1 for
	// Ethernet and loopback, 12 for raw IP links such as tun, 113 for
	// PPP). It is what a user is told; frames on links that are not
	// Ethernet are read without a link header and decoded as raw IP.
	Type LinkType
}

// Handler receives each decoded packet. It is called concurrently from one
// goroutine per interface; p is valid only during the call.
type Handler func(p *Packet)

// Stats are per-interface counters.
type Stats struct {
	Interface string
	// Packets and Bytes count the packets handed to the Handler and their
	// original lengths.
	Packets, Bytes uint64
	// Malformed counts frames that did not decode (not handed on).
	Malformed uint64
	// KernelDrops counts packets the kernel dropped because the ring or
	// buffer was full.
	KernelDrops uint64
}

// errTimeout is returned by a source's read when nothing arrived in time.
var errTimeout = errors.New("capture: read timeout")

// source is one opened interface of one backend.
type source interface {
	// read fills fr with the next frame; fr.data is valid until the next
	// call. It returns errTimeout after a short time without packets.
	read(fr *frame) error
	// drops returns the kernel drops since the source was opened.
	drops() uint64
	close()
}

// frame is one captured frame as a source hands it over.
type frame struct {
	data    []byte     // the captured bytes
	ts      time.Time  // when the kernel saw it
	length  int        // its length on the wire
	ifindex int        // the interface it was seen on; 0 if unknown
	ptype   PacketType // the kernel's packet type, or PacketUnknown
}

// iface is the state of one captured interface.
type iface struct {
	link  Link
	lo    bool     // a loopback interface
	dlink LinkType // the link type of the frames read (may differ from link.Type)

	mu      sync.Mutex // guards src, dropped, index
	src     source
	dropped uint64 // kernel drops of sources already closed
	index   int

	packets, bytes, malformed atomic.Uint64
}

// Capture is a set of opened interfaces.
type Capture struct {
	opts   Options
	ifaces []*iface
	netns  *os.File // the network namespace Open ran in, for reopening

	mu      sync.Mutex
	running bool
	closed  bool
	stop    chan struct{} // closed by Close
	wg      sync.WaitGroup
}

// Open opens every interface in opts.Interfaces, in the calling thread's
// network namespace. Errors name the interface; without the right to open
// packet sockets the error says that CAP_NET_RAW or root is needed.
func Open(opts Options) (*Capture, error) {
	if len(opts.Interfaces) == 0 {
		return nil, errors.New("capture: no interface given")
	}
	if opts.SnapLen <= 0 {
		opts.SnapLen = DefaultSnapLen
	}
	if opts.SnapLen > 65535 {
		opts.SnapLen = 65535
	}
	if opts.RingBytes <= 0 {
		opts.RingBytes = DefaultRingBytes
	}
	switch opts.Backend {
	case BackendDefault, BackendAFPacket, BackendPcap:
	default:
		return nil, fmt.Errorf("capture: unknown backend %v (want afpacket or pcap)", opts.Backend)
	}
	if !PcapAvailable && (opts.Backend == BackendPcap || opts.Filter != "") {
		_, _, err := openPcap("", false, &opts)
		if opts.Filter != "" {
			_, err = compileFilter(LinkEthernet, opts.SnapLen, opts.Filter)
			err = fmt.Errorf("capture: %w", err)
		}
		return nil, err
	}
	// Everything below runs on this OS thread, so that the sockets are
	// opened in the caller's network namespace.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	ns, err := os.Open("/proc/thread-self/ns/net")
	if err != nil {
		return nil, fmt.Errorf("capture: open own network namespace: %w", err)
	}
	c := &Capture{opts: opts, netns: ns, stop: make(chan struct{})}
	for _, name := range opts.Interfaces {
		f, err := c.openIface(name)
		if err != nil {
			c.closeSources()
			ns.Close()
			return nil, err
		}
		c.ifaces = append(c.ifaces, f)
	}
	return c, nil
}

// openIface looks up and opens one interface in the current thread's
// network namespace.
func (c *Capture) openIface(name string) (*iface, error) {
	ni, err := net.InterfaceByName(name)
	if err != nil {
		return nil, fmt.Errorf("capture: interface %q does not exist", name)
	}
	arphrd, err := arpHardwareType(name)
	if err != nil {
		return nil, permError(name, err)
	}
	lt, raw := dltOf(arphrd)
	f := &iface{
		link:  Link{Name: name, Index: ni.Index, Type: lt},
		lo:    arphrd == unix.ARPHRD_LOOPBACK,
		index: ni.Index,
	}
	if raw {
		f.dlink = LinkRaw
	} else {
		f.dlink = LinkEthernet
	}
	src, dlink, err := c.openSource(f)
	if err != nil {
		return nil, err
	}
	f.dlink = dlink
	if c.opts.Backend == BackendPcap {
		f.link.Type = dlink // what libpcap reports
	}
	f.src = src
	return f, nil
}

// openSource opens the configured backend on f.
func (c *Capture) openSource(f *iface) (source, LinkType, error) {
	if c.opts.Backend == BackendPcap {
		return openPcap(f.link.Name, f.lo, &c.opts)
	}
	prog, err := buildFilter(f.lo, f.dlink, c.opts.SnapLen, c.opts.Filter)
	if err != nil {
		return nil, 0, fmt.Errorf("capture: interface %q: %w", f.link.Name, err)
	}
	src, err := openAFPacket(f.link.Name, f.dlink != LinkEthernet, prog, &c.opts)
	if err != nil {
		return nil, 0, permError(f.link.Name, err)
	}
	return src, f.dlink, nil
}

// permError wraps err with the interface name, and says what is missing
// when it is a permission error.
func permError(name string, err error) error {
	if errors.Is(err, unix.EPERM) || errors.Is(err, unix.EACCES) {
		return fmt.Errorf("capture: interface %q: permission denied: capturing needs CAP_NET_RAW (or root): %w", name, err)
	}
	return fmt.Errorf("capture: interface %q: %w", name, err)
}

// arpHardwareType returns the ARPHRD_* type of interface name.
func arpHardwareType(name string) (uint16, error) {
	ifr, err := ioctlIfreq(name, unix.SIOCGIFHWADDR)
	if err != nil {
		return 0, err
	}
	return ifr.Uint16(), nil
}

// ioctlIfreq runs the interface ioctl req on name and returns its answer.
func ioctlIfreq(name string, req uint) (*unix.Ifreq, error) {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("socket: %w", err)
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq(name)
	if err != nil {
		return nil, err
	}
	if err := unix.IoctlIfreq(fd, req, ifr); err != nil {
		return nil, fmt.Errorf("ioctl %#x on %q: %w", req, name, err)
	}
	return ifr, nil
}

// ifaceUp reports whether interface name exists and is up, in the current
// thread's network namespace, and returns its index.
func ifaceUp(name string) (int, bool) {
	ni, err := net.InterfaceByName(name)
	if err != nil {
		return 0, false
	}
	return ni.Index, ni.Flags&net.FlagUp != 0
}

// dltOf maps an ARPHRD type to the DLT libpcap reports for it, and says
// whether frames are read without a link header (as raw IP).
func dltOf(arphrd uint16) (LinkType, bool) {
	switch arphrd {
	case unix.ARPHRD_ETHER, unix.ARPHRD_LOOPBACK:
		return LinkEthernet, false
	case unix.ARPHRD_NONE, unix.ARPHRD_RAWIP, unix.ARPHRD_TUNNEL, unix.ARPHRD_TUNNEL6, unix.ARPHRD_SIT:
		return LinkRaw, true
	}
	// PPP and everything libpcap has no direct mapping for: libpcap falls
	// back to a cooked socket (DLT_LINUX_SLL). We read those links with a
	// SOCK_DGRAM socket, which gives the packet from its network header.
	return LinkLinuxSLL, true
}

// Links returns the opened interfaces in the order given to Open.
func (c *Capture) Links() []Link {
	out := make([]Link, len(c.ifaces))
	for i, f := range c.ifaces {
		out[i] = f.link
	}
	return out
}

// Stats returns the counters of each interface, in the order of Links.
func (c *Capture) Stats() []Stats {
	out := make([]Stats, len(c.ifaces))
	for i, f := range c.ifaces {
		f.mu.Lock()
		d := f.dropped
		if f.src != nil {
			d += f.src.drops()
		}
		f.mu.Unlock()
		out[i] = Stats{
			Interface:   f.link.Name,
			Packets:     f.packets.Load(),
			Bytes:       f.bytes.Load(),
			Malformed:   f.malformed.Load(),
			KernelDrops: d,
		}
	}
	return out
}

// Run reads every interface, one goroutine each, and calls h for each
// decoded packet until ctx is done (it then returns nil) or Close is called.
// An interface that fails is reported through Options.OnError and reopened;
// Run returns an error only if it is called twice or after Close.
func (c *Capture) Run(ctx context.Context, h Handler) error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return errors.New("capture: Run after Close")
	}
	if c.running {
		c.mu.Unlock()
		return errors.New("capture: Run called twice")
	}
	c.running = true
	c.wg.Add(len(c.ifaces))
	c.mu.Unlock()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-c.stop:
			cancel()
		case <-ctx.Done():
		}
	}()
	for _, f := range c.ifaces {
		go func() {
			defer c.wg.Done()
			c.loop(ctx, f, h)
		}()
	}
	c.wg.Wait()
	return nil
}

// loop reads one interface until ctx is done. It owns f.src while it runs:
// only loop replaces it (under f.mu, for Stats), so the per-packet path
// takes no lock.
func (c *Capture) loop(ctx context.Context, f *iface, h Handler) {
	var p Packet
	var fr frame
	f.mu.Lock()
	src := f.src
	f.mu.Unlock()
	for n := 0; ; n++ {
		// ctx.Err takes a lock: look every 64 frames, and after every
		// quiet spell (a read timeout).
		if n&63 == 0 && ctx.Err() != nil {
			return
		}
		if src == nil {
			if !c.reopen(ctx, f) {
				return
			}
			f.mu.Lock()
			src = f.src
			f.mu.Unlock()
			continue
		}
		err := src.read(&fr)
		if err == errTimeout {
			n = -1
			continue
		}
		if err != nil {
			if c.opts.OnError != nil {
				c.opts.OnError(f.link.Name, c.describeFailure(f.link.Name, err))
			}
			f.mu.Lock()
			f.dropped += src.drops()
			src.close()
			f.src, src = nil, nil
			f.mu.Unlock()
			continue
		}
		if err := Decode(f.dlink, fr.data, &p); err != nil {
			f.malformed.Add(1)
			continue
		}
		p.Timestamp = fr.ts
		p.Length = fr.length
		p.IfIndex = fr.ifindex
		if p.IfIndex == 0 {
			p.IfIndex = f.index
		}
		if p.Type == PacketUnknown {
			// The source's value, unless the link header carried one.
			p.Type = fr.ptype
		}
		f.packets.Add(1)
		f.bytes.Add(uint64(fr.length))
		h(&p)
	}
}

// reopen waits, with backoff, until f's interface exists and is up again in
// the capture's network namespace, and opens it. It returns false if ctx
// ended first.
func (c *Capture) reopen(ctx context.Context, f *iface) bool {
	delay := 100 * time.Millisecond
	for {
		select {
		case <-ctx.Done():
			return false
		case <-time.After(delay):
		}
		if delay < 2*time.Second {
			delay *= 2
		}
		src, index, err := c.openInNetns(f)
		if err != nil || src == nil {
			continue
		}
		f.mu.Lock()
		f.src = src
		f.index = index
		f.mu.Unlock()
		return true
	}
}

// openInNetns opens f's interface in the capture's network namespace. It
// returns a nil source while the interface is missing or down.
func (c *Capture) openInNetns(f *iface) (src source, index int, err error) {
	err = c.inNetns(func() error {
		var up bool
		if index, up = ifaceUp(f.link.Name); up {
			var err error
			src, _, err = c.openSource(f)
			return err
		}
		return nil
	})
	if err != nil && src != nil {
		src.close()
		src = nil
	}
	return src, index, err
}

// describeFailure says what happened to interface name, as seen from the
// capture's network namespace.
func (c *Capture) describeFailure(name string, err error) error {
	what := "failed"
	_ = c.inNetns(func() error {
		if _, e := net.InterfaceByName(name); e != nil {
			what = "disappeared"
		} else if _, up := ifaceUp(name); !up {
			what = "went down"
		}
		return nil
	})
	return fmt.Errorf("capture: interface %q %s (%w); capture resumes when it is back", name, what, err)
}

// inNetns runs fn on a thread of its own that joins the capture's network
// namespace.
func (c *Capture) inNetns(fn func() error) error { return netns.Do(int(c.netns.Fd()), fn) }

// Close stops Run (and waits for it) and closes every interface.
func (c *Capture) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	close(c.stop)
	c.mu.Unlock()
	c.wg.Wait()
	c.closeSources()
	return c.netns.Close()
}

func (c *Capture) closeSources() {
	for _, f := range c.ifaces {
		f.mu.Lock()
		if f.src != nil {
			f.dropped += f.src.drops()
			f.src.close()
			f.src = nil
		}
		f.mu.Unlock()
	}
}
