package netnstest

import (
	"os"
	"os/signal"
	"sync"
	"syscall"
	"testing"
)

// remover is what this package makes (a Pair, a Loopback, ...) or another
// test helper's (podmantest's Podman).
type remover interface{ Remove() error }

// live is what NewPair and NewLoopback made and t.Cleanup has not removed
// yet. An interrupted test binary never runs its cleanups, so the first
// NewPair or NewLoopback of a process starts a handler that removes these
// on SIGINT, SIGTERM or SIGHUP and then lets the signal end the process as
// it would have. (A binary killed otherwise, or by go test's -timeout
// panic, leaves them behind. CreatePair and CreateLoopback leave signals to
// their caller.)
var live struct {
	sync.Mutex
	set   map[remover]struct{}
	watch sync.Once
}

// RemoveWhenDone removes r with t.Cleanup (a failed removal fails t) or
// when the process is interrupted, whichever comes first: what NewPair and
// the others do with what they make, and what other test helpers
// (internal/podmantest) do with theirs.
func RemoveWhenDone(t testing.TB, r interface{ Remove() error }) {
	live.watch.Do(watchSignals)
	live.Lock()
	if live.set == nil {
		live.set = map[remover]struct{}{}
	}
	live.set[r] = struct{}{}
	live.Unlock()
	t.Cleanup(func() {
		live.Lock()
		delete(live.set, r)
		live.Unlock()
		if err := r.Remove(); err != nil {
			t.Errorf("netnstest: %v", err)
		}
	})
}

// watchSignals removes everything in live on the first SIGINT, SIGTERM or
// SIGHUP, stops listening and sends the signal again, which now ends the
// process (unless the program listens to it too).
func watchSignals() {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	go func() {
		sig := <-ch
		live.Lock()
		for r := range live.set {
			_ = r.Remove()
		}
		clear(live.set)
		live.Unlock()
		signal.Stop(ch)
		if s, ok := sig.(syscall.Signal); ok {
			_ = syscall.Kill(os.Getpid(), s)
		}
	}()
}
