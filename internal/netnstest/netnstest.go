// Package netnstest makes throw-away network namespaces for code that needs
// real traffic between two hosts (a Pair: two namespaces joined by a veth),
// a loopback of its own (a Loopback), a host with a container behind NAT
// (a NAT: three namespaces, nftables masquerade and a published port) or a
// peer behind the caller's own namespace (a HostPeer), and removes them
// again. ConnectTCP holds a connection between two of them. (Real
// containers are internal/podmantest's.)
//
// Tests use NewPair and NewLoopback, which remove what they made with
// t.Cleanup, even when the test fails, and also when the test binary is
// interrupted (SIGINT, SIGTERM, SIGHUP). A program that is not a test (the
// bench suite) uses CreatePair and CreateLoopback and calls Remove itself;
// on an error half-way they remove what they had made before returning.
// Every namespace and interface gets a name unique to the process
// (UniqueName).
//
// It runs ip(8) and ethtool(8) the way one would by hand, reads interface
// counters and waits for links over netlink, and needs root.
package netnstest

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"sync/atomic"
	"testing"

	"golang.org/x/sys/unix"
)

var counter atomic.Uint32

// Skip skips t unless it runs as root with the ip command available.
func Skip(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("needs the ip command (iproute2)")
	}
}

// maxName is the longest interface name Linux takes (IFNAMSIZ - 1).
const maxName = 15

// uniqueID is this process's pid and a counter, in hex with an x between
// them (not a hex digit, so a pid and a counter never run together).
func uniqueID() string {
	return fmt.Sprintf("%xx%x", os.Getpid(), counter.Add(1))
}

// UniqueName returns a name no other process and no other call uses:
// prefix, the process id and a counter, at most 15 bytes (the interface
// name limit); a long prefix is cut, never the id.
func UniqueName(prefix string) string {
	return fitName(prefix, uniqueID())
}

// fitName is prefix+id, the prefix cut so that it fits an interface name.
func fitName(prefix, id string) string {
	if keep := maxName - len(id); len(prefix) > keep {
		prefix = prefix[:max(keep, 0)]
	}
	return prefix + id
}

// Do runs fn with the calling goroutine's OS thread inside the named network
// namespace. Sockets that fn opens stay in that namespace after Do returns,
// and can be used from any goroutine.
//
// (internal/netns is the module's setns helper; its own tests import this
// package, so this one cannot import it back.)
func Do(ns string, fn func() error) error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	orig, err := os.Open("/proc/thread-self/ns/net")
	if err != nil {
		return fmt.Errorf("open own netns: %w", err)
	}
	defer orig.Close()
	target, err := os.Open("/run/netns/" + ns)
	if err != nil {
		return fmt.Errorf("open netns %s: %w", ns, err)
	}
	defer target.Close()
	if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
		return fmt.Errorf("setns %s: %w", ns, err)
	}
	ferr := fn()
	if err := unix.Setns(int(orig.Fd()), unix.CLONE_NEWNET); err != nil {
		// The thread is in the wrong namespace: never hand it back to the runtime.
		panic(fmt.Sprintf("netnstest: cannot restore netns: %v", err))
	}
	return ferr
}
