package capture

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/gohogs/gohogs/internal/netns"
	"github.com/gohogs/gohogs/internal/netnstest"
)

func TestClassify(t *testing.T) {
	other := errors.New("read ring: input/output error")
	for _, c := range []struct {
		err       error
		st        linkState
		what      string
		permanent bool
	}{
		{other, linkMissing, "disappeared", false},
		{other, linkDown, "went down", false},
		{fmt.Errorf("read ring: %w", unix.ENETDOWN), linkUp, "went down", false}, // down and up again
		{fmt.Errorf("bind: %w", unix.ENODEV), linkUp, "disappeared", false},      // gone and back
		{fmt.Errorf("read ring: %w", unix.ENETDOWN), linkUnknown, "went down", false},
		{other, linkUp, "", true},
		{fmt.Errorf("socket: %w", unix.EPERM), linkUp, "", true},
		{fmt.Errorf("map the capture ring: %w", unix.ENOMEM), linkUp, "", true},
		{fmt.Errorf("set up the capture ring: %w", unix.EINVAL), linkUp, "", true},
		{other, linkUnknown, "", true},
	} {
		what, permanent := classify(c.err, c.st)
		if what != c.what || permanent != c.permanent {
			t.Errorf("classify(%v, %d) = %q, %v; want %q, %v", c.err, c.st, what, permanent, c.what, c.permanent)
		}
	}
}

func TestInterfaceError(t *testing.T) {
	perm := &InterfaceError{Interface: "eth7", Permanent: true, Err: fmt.Errorf("socket: %w", unix.EPERM)}
	if !errors.Is(perm, ErrPermanent) || !errors.Is(perm, unix.EPERM) {
		t.Errorf("permanent error: errors.Is ErrPermanent %v, EPERM %v", errors.Is(perm, ErrPermanent), errors.Is(perm, unix.EPERM))
	}
	if s := perm.Error(); !strings.Contains(s, `"eth7"`) || !strings.Contains(s, "stopped") {
		t.Errorf("permanent error says %q", s)
	}
	gone := &InterfaceError{Interface: "eth7", Err: unix.ENETDOWN, what: "went down"}
	if errors.Is(gone, ErrPermanent) || !errors.Is(gone, unix.ENETDOWN) {
		t.Error("transient error matches ErrPermanent, or not its cause")
	}
	if s := gone.Error(); !strings.Contains(s, `"eth7" went down`) || !strings.Contains(s, "resumes") {
		t.Errorf("transient error says %q", s)
	}
}

func TestSameLink(t *testing.T) {
	for _, c := range []struct {
		a, b uint16
		same bool
	}{
		{unix.ARPHRD_ETHER, unix.ARPHRD_ETHER, true},
		{unix.ARPHRD_NONE, unix.ARPHRD_RAWIP, true}, // both raw IP
		{unix.ARPHRD_ETHER, unix.ARPHRD_LOOPBACK, false},
		{unix.ARPHRD_ETHER, unix.ARPHRD_NONE, false},
		{unix.ARPHRD_NONE, unix.ARPHRD_PPP, false},
	} {
		if got := sameLink(c.a, c.b); got != c.same {
			t.Errorf("sameLink(%d, %d) = %v", c.a, c.b, got)
		}
	}
}

// faultySource is a source whose next read fails with the error sent on
// fault, for a failure no real interface can be made to have.
type faultySource struct {
	source
	fault chan error
}

func (s *faultySource) read(fr *frame) error {
	select {
	case err := <-s.fault:
		return err
	default:
		return s.source.read(fr)
	}
}

// TestPermanentFailure captures on a veth and lo. The veth is deleted (a
// transient failure) and re-created, but reopening it fails as it would
// once CAP_NET_RAW is gone: that is reported as permanent, and capture goes
// on on lo. Then a read on lo fails with an errno no interface state
// explains: that is permanent too, and Run returns both failures.
func TestPermanentFailure(t *testing.T) {
	forEachBackend(t, testPermanentFailure)
}

func testPermanentFailure(t *testing.T, backend Backend) {
	p := netnstest.NewPair(t)
	var log eventLog
	c := openIn(t, p.NSA, Options{Interfaces: []string{p.IfA, "lo"}, Backend: backend, OnError: log.add})
	defer c.Close()
	denied := fmt.Errorf("open AF_PACKET socket: %w", unix.EPERM)
	c.openSrc = func(f *iface) (source, LinkType, error) {
		if f.link.Name == p.IfA {
			return nil, 0, hint(denied)
		}
		return c.openSource(f)
	}
	lo := &faultySource{source: c.ifaces[1].src, fault: make(chan error, 1)}
	c.ifaces[1].src = lo

	tl := newTally()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx, tl.handle) }()

	ipCmd(t, "-n", p.NSA, "link", "del", p.IfA)
	eventually(t, "the report of the deleted veth", func() bool { return log.len() == 1 })
	recreateVeth(t, p)
	eventually(t, "the report of the failed reopen", func() bool { return log.len() == 2 })
	ev := log.get()
	var ie *InterfaceError
	if ev[0].iface != p.IfA || !errors.As(ev[0].err, &ie) || ie.Permanent || !strings.Contains(ev[0].err.Error(), "disappeared") {
		t.Errorf("first report is not that %s disappeared: %v", p.IfA, ev[0])
	}
	if ev[1].iface != p.IfA || !errors.As(ev[1].err, &ie) || !ie.Permanent || ie.Interface != p.IfA ||
		!errors.Is(ev[1].err, ErrPermanent) || !errors.Is(ev[1].err, unix.EPERM) || !strings.Contains(ev[1].err.Error(), "CAP_NET_RAW") {
		t.Errorf("second report is not a permanent EPERM of %s that names CAP_NET_RAW: %v", p.IfA, ev[1])
	}

	// Run goes on with lo.
	loBefore := c.Stats()[1].Packets
	if _, got := udpSend(t, p.NSA, p.NSA, netip.MustParseAddr("127.0.0.1"), 5, 100); got != 5 {
		t.Fatalf("lo: %d of 5 datagrams arrived", got)
	}
	eventually(t, "lo captured after the veth failed", func() bool { return c.Stats()[1].Packets >= loBefore+5 })
	select {
	case err := <-done:
		t.Fatalf("Run returned while lo was still captured: %v", err)
	default:
	}

	// lo is up, so EIO from a read is permanent; it was the last one.
	lo.fault <- fmt.Errorf("read ring: %w", unix.EIO)
	err := runResult(t, done, "the last interface failing")
	ev = log.get()
	if len(ev) != 3 || ev[2].iface != "lo" || !errors.Is(ev[2].err, ErrPermanent) || !errors.Is(ev[2].err, unix.EIO) {
		t.Errorf("reports %v; want a third, lo failed permanently with EIO", ev)
	}
	joined, ok := err.(interface{ Unwrap() []error })
	if !ok || len(joined.Unwrap()) != 2 {
		t.Fatalf("Run = %v; want the two failures joined", err)
	}
	for i, name := range []string{p.IfA, "lo"} {
		var ie *InterfaceError
		e := joined.Unwrap()[i]
		if !errors.As(e, &ie) || ie.Interface != name || !ie.Permanent || !strings.Contains(e.Error(), `"`+name+`"`) {
			t.Errorf("Run's error %d is not the permanent failure of %s: %v", i, name, e)
		}
	}
	if !errors.Is(err, unix.EPERM) || !errors.Is(err, unix.EIO) {
		t.Errorf("Run = %v: the causes are lost", err)
	}
	t.Logf("Run: %v", err)
	if err := c.Close(); err != nil {
		t.Errorf("Close after Run failed: %v", err)
	}
}

// TestInNetns checks that the namespace plumbing runs fn in the capture's
// namespace: on the calling thread, without setns, when the thread is there
// already (a gohogs with only CAP_NET_RAW cannot setns), else on a thread
// that joins it.
func TestInNetns(t *testing.T) {
	netnstest.Skip(t)
	here, err := Open(Options{Interfaces: []string{"lo"}}) // this process's namespace: nothing is sent
	if err != nil {
		t.Fatal(err)
	}
	defer here.Close()
	err = withoutCap(unix.CAP_SYS_ADMIN, func() error {
		return here.inNetns(func() error {
			if ok, err := hasCap(unix.CAP_SYS_ADMIN); err != nil || ok {
				return fmt.Errorf("fn runs on another thread than the caller's (CAP_SYS_ADMIN %v, %v)", ok, err)
			}
			if ino, err := netns.Inode("/proc/thread-self/ns/net"); err != nil || ino != here.netnsIno {
				return fmt.Errorf("fn runs in namespace %d (%v), want %d", ino, err, here.netnsIno)
			}
			return nil
		})
	})
	if err != nil {
		t.Errorf("in the capture's own namespace, without CAP_SYS_ADMIN: %v", err)
	}

	ns := netnstest.NewLoopback(t, "ghN")
	there := openIn(t, ns, Options{Interfaces: []string{"lo"}})
	defer there.Close()
	if there.netnsIno == here.netnsIno {
		t.Fatal("the test namespace has the inode of this one")
	}
	err = there.inNetns(func() error {
		if ino, err := netns.Inode("/proc/thread-self/ns/net"); err != nil || ino != there.netnsIno {
			return fmt.Errorf("fn runs in namespace %d (%v), want %d", ino, err, there.netnsIno)
		}
		return nil
	})
	if err != nil {
		t.Errorf("from another namespace: %v", err)
	}
}
