package nsaddrs

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"sync"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

// watched is one namespace being followed.
type watched struct {
	ino  uint64
	file *os.File // its nsfs file, open: names it to setns
	loc  Location
	nsid int // its id in the own namespace
	done chan struct{}
	wg   sync.WaitGroup

	mu    sync.Mutex
	addrs map[addrKey]struct{}
	ended bool // the subscription ended: watch it afresh at the next rescan
}

// addrKey is one address on one interface of a namespace: an address held
// by two interfaces stays until both lose it.
type addrKey struct {
	ip      [16]byte
	ifindex int
}

// watch starts following the namespace open in f: subscribe to its address
// changes, dump its addresses, then apply the changes queued meanwhile and
// every later one (an address added or removed is set, so a change both
// dumped and notified is applied twice harmlessly). It takes f.
func (x *Index) watch(f *os.File, ino uint64, nsid int, loc Location) (*watched, error) {
	w := &watched{ino: ino, file: f, loc: loc, nsid: nsid, done: make(chan struct{}),
		addrs: make(map[addrKey]struct{})}
	nsh := netns.NsHandle(int(f.Fd()))
	ch := make(chan netlink.AddrUpdate, updateBufferSize)
	err := netlink.AddrSubscribeWithOptions(ch, w.done, netlink.AddrSubscribeOptions{
		Namespace:     &nsh,
		ErrorCallback: func(error) {}, // the channel closes: the namespace is watched afresh
	})
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("subscribe in namespace %d: %w", ino, err)
	}
	addrs, err := dump(nsh)
	if err != nil {
		close(w.done)
		go drain(ch)
		f.Close()
		return nil, fmt.Errorf("addresses of namespace %d: %w", ino, err)
	}
	for _, a := range addrs {
		if k, ok := keyOf(a.IP, a.LinkIndex); ok {
			w.addrs[k] = struct{}{}
		}
	}
	w.wg.Add(1)
	go w.follow(ch, x.markDirty)
	return w, nil
}

// dump lists the addresses of namespace nsh, retrying a dump that a
// concurrent change interrupted.
func dump(nsh netns.NsHandle) ([]netlink.Addr, error) {
	h, err := netlink.NewHandleAt(nsh)
	if err != nil {
		return nil, err
	}
	defer h.Close()
	var addrs []netlink.Addr
	for range 5 {
		addrs, err = h.AddrList(nil, netlink.FAMILY_ALL)
		if !errors.Is(err, netlink.ErrDumpInterrupted) {
			break
		}
	}
	return addrs, err
}

// follow applies the address notifications until the subscription ends.
func (w *watched) follow(ch chan netlink.AddrUpdate, changed func()) {
	defer w.wg.Done()
	for u := range ch {
		k, ok := keyOf(u.LinkAddress.IP, u.LinkIndex)
		if !ok {
			continue
		}
		w.mu.Lock()
		if u.NewAddr {
			w.addrs[k] = struct{}{}
		} else {
			delete(w.addrs, k)
		}
		w.mu.Unlock()
		changed()
	}
	w.mu.Lock()
	w.ended = true
	w.mu.Unlock()
}

// keyOf is the key of address ip on interface ifindex.
func keyOf(ip []byte, ifindex int) (addrKey, bool) {
	a, ok := netip.AddrFromSlice(ip)
	if !ok {
		return addrKey{}, false
	}
	return addrKey{ip: a.Unmap().As16(), ifindex: ifindex}, true
}

// addresses appends the namespace's addresses (16-byte form, each once).
func (w *watched) addresses(out [][16]byte) [][16]byte {
	w.mu.Lock()
	defer w.mu.Unlock()
	start := len(out)
next:
	for k := range w.addrs {
		for _, o := range out[start:] {
			if o == k.ip {
				continue next
			}
		}
		out = append(out, k.ip)
	}
	return out
}

// hasEnded says whether the subscription ended on its own.
func (w *watched) hasEnded() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.ended
}

// stop ends the subscription (closing its socket) and the namespace file.
func (w *watched) stop() error {
	close(w.done)
	w.wg.Wait()
	return w.file.Close()
}

// drain empties a subscription channel that nobody follows until it closes.
func drain(ch chan netlink.AddrUpdate) {
	for range ch {
	}
}
