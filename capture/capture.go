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

	"golang.org/x/sys/unix"

	"github.com/gohogs/gohogs/internal/flowbpf"
)

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
	// MapFull (ebpf) counts packets that found the flow map full: they are
	// handed over by Collect in overflow buckets, without their addresses.
	MapFull uint64
	// EventsLost (ebpf) counts first packets of flows that the ring had no
	// room for: they are counted in the flow map instead, and their flow's
	// owner is looked up once Collect hands it over.
	EventsLost uint64
}

// iface is the state of one captured interface.
type iface struct {
	link   Link
	arphrd uint16   // its ARPHRD_* type when Open found it
	lo     bool     // a loopback interface
	dlink  LinkType // the link type of the frames read (may differ from link.Type)

	mu      sync.Mutex // guards src, dropped, index
	src     source
	dropped uint64 // kernel drops of sources already closed
	index   int

	packets, bytes, malformed atomic.Uint64

	// The ebpf backend (guarded by mu): the programs and maps, loaded at
	// the first open and kept across reopens; Collect's batch; the
	// overflow buckets' counts already handed over.
	ctr      *flowbpf.Counter
	batch    []FlowCount
	overflow [flowbpf.OverflowBuckets]flowbpf.Value
}

// Capture is a set of opened interfaces.
type Capture struct {
	opts     Options
	ifaces   []*iface
	netns    *os.File // the network namespace Open ran in, for reopening
	netnsIno uint64   // its inode number
	fallback error    // why the default backend is not ebpf

	// openSrc opens the backend on an interface: openSource, or what a
	// test puts in its place.
	openSrc func(f *iface) (source, LinkType, error)

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
	opts, err := opts.withDefaults()
	if err != nil {
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
	var st unix.Stat_t
	if err := unix.Fstat(int(ns.Fd()), &st); err != nil {
		ns.Close()
		return nil, fmt.Errorf("capture: own network namespace: %w", err)
	}
	c := &Capture{opts: opts, netns: ns, netnsIno: st.Ino, stop: make(chan struct{})}
	c.openSrc = c.openSource
	auto := c.chooseDefault()
	for i := 0; i < len(opts.Interfaces); i++ {
		f, err := c.openIface(opts.Interfaces[i])
		if ee := (*ebpfError)(nil); auto && errors.As(err, &ee) {
			// The kernel or the privileges do not allow it: afpacket
			// for every interface.
			c.closeSources()
			c.ifaces, auto = nil, false
			c.opts.Backend, c.fallback = BackendAFPacket, ee
			i = -1
			continue
		}
		if err != nil {
			c.closeSources()
			ns.Close()
			return nil, err
		}
		c.ifaces = append(c.ifaces, f)
	}
	return c, nil
}

// chooseDefault replaces the default backend with ebpf, or with afpacket
// when a filter expression asks for it; it reports whether it chose ebpf,
// which Open falls back from if the programs cannot be loaded.
func (c *Capture) chooseDefault() bool {
	if c.opts.Backend != BackendDefault {
		return false
	}
	if c.opts.Filter != "" {
		c.opts.Backend = BackendAFPacket
		c.fallback = errors.New("the ebpf backend cannot run a filter expression (-f)")
		return false
	}
	c.opts.Backend = BackendEBPF
	return true
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
		return nil, fmt.Errorf("capture: interface %q: %w", name, hint(err))
	}
	lt, raw := dltOf(arphrd)
	f := &iface{
		link:   Link{Name: name, Index: ni.Index, Type: lt},
		arphrd: arphrd,
		lo:     arphrd == unix.ARPHRD_LOOPBACK,
		index:  ni.Index,
	}
	if raw {
		f.dlink = LinkRaw
	} else {
		f.dlink = LinkEthernet
	}
	src, dlink, err := c.openSrc(f)
	if err != nil {
		if f.ctr != nil {
			f.ctr.Close()
		}
		return nil, fmt.Errorf("capture: interface %q: %w", name, err)
	}
	f.dlink = dlink
	if c.opts.Backend == BackendPcap {
		f.link.Type = dlink // what libpcap reports
	}
	f.src = src
	return f, nil
}

// openSource opens the configured backend on f, in the current thread's
// network namespace. Its errors do not name the interface.
func (c *Capture) openSource(f *iface) (source, LinkType, error) {
	if c.opts.Backend == BackendPcap {
		return openPcap(f.link.Name, f.lo, &c.opts)
	}
	if c.opts.Backend == BackendEBPF {
		src, err := c.openEBPF(f)
		return src, f.dlink, err
	}
	prog, err := buildFilter(f.lo, f.dlink, c.opts.SnapLen, c.opts.Filter)
	if err != nil {
		return nil, 0, err
	}
	src, err := openAFPacket(f.link.Name, f.dlink != LinkEthernet, prog, &c.opts)
	if err != nil {
		return nil, 0, hint(err)
	}
	return src, f.dlink, nil
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
		out[i] = Stats{
			Interface:   f.link.Name,
			Packets:     f.packets.Load(),
			Bytes:       f.bytes.Load(),
			Malformed:   f.malformed.Load(),
			KernelDrops: d,
		}
		f.ebpfStats(&out[i])
		f.mu.Unlock()
	}
	return out
}

// Run reads every interface, one goroutine each, and calls h for each
// decoded packet. It returns nil when ctx is done or Close is called. An
// interface that fails is reported through Options.OnError: one that went
// down or disappeared is reopened when it is back, one that failed
// permanently (see InterfaceError) is given up while the others go on.
// Once every interface has failed permanently, Run returns their
// *InterfaceErrors joined (errors.Join). Run is an error if it is called
// twice or after Close.
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
	errs := make([]error, len(c.ifaces))
	for i, f := range c.ifaces {
		go func() {
			defer c.wg.Done()
			errs[i] = c.loop(ctx, f, h)
		}()
	}
	c.wg.Wait()
	for _, err := range errs {
		if err == nil {
			return nil // ctx ended while this interface was still captured
		}
	}
	return errors.Join(errs...)
}

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
		if f.ctr != nil {
			f.ctr.Close()
			f.ctr = nil
		}
		f.mu.Unlock()
	}
}
