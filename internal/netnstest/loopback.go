package netnstest

import (
	"errors"
	"fmt"
	"testing"
)

// Loopback is a network namespace with only lo, up: traffic on its
// 127.0.0.1 and ::1 belongs to its creator alone.
type Loopback struct {
	NS string
}

// NewLoopback creates a namespace with only lo (see CreateLoopback) for test
// t, removes it with t.Cleanup, even when the test fails, and returns its
// name.
func NewLoopback(t testing.TB, prefix string) string {
	t.Helper()
	Skip(t)
	l, err := CreateLoopback(prefix)
	if err != nil {
		t.Fatal(err)
	}
	RemoveWhenDone(t, l)
	return l.NS
}

// CreateLoopback creates a namespace named prefix and an id unique to the
// process (see UniqueName) and brings its lo up. The caller removes it with
// Remove; if CreateLoopback fails it has removed what it made.
func CreateLoopback(prefix string) (*Loopback, error) {
	l := &Loopback{NS: UniqueName(prefix)}
	if err := run("ip", "netns", "add", l.NS); err != nil {
		return nil, err
	}
	if err := run("ip", "-n", l.NS, "link", "set", "lo", "up"); err != nil {
		return nil, fmt.Errorf("loopback namespace %s: %w", l.NS, errors.Join(err, l.Remove()))
	}
	return l, nil
}

// Remove deletes the namespace, if it is still there.
func (l *Loopback) Remove() error { return removeNS(l.NS) }
