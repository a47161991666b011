package capture

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"
)

// ErrPermanent is what errors.Is finds in an error reporting an interface
// that failed for good: reopening cannot mend the failure, and capture on
// that interface has stopped.
var ErrPermanent = errors.New("capture: interface failed permanently")

// InterfaceError reports a failure of one interface while Run runs. Run
// hands each one to Options.OnError, and returns the permanent ones (joined)
// once every interface has failed permanently.
//
// A failure is transient when the interface is down or missing as Run looks
// at it after the failure, or when the kernel said so: ENETDOWN is what a
// bound packet socket reports when its interface goes down or is
// unregistered (and what binding to a downed interface leaves pending), and
// ENODEV is what the interface ioctls, bind and PACKET_ADD_MEMBERSHIP return
// for an interface that no longer exists. Run reopens the interface, with
// backoff, when it is back. Any other failure, with the interface up, is
// permanent: the socket or its ring cannot be created (EPERM after the
// capability was dropped, EINVAL, ENOMEM from setting up or mapping the ring,
// EMFILE), a read fails with another errno, or the interface came back as a
// link of another type. Trying again would fail the same way.
type InterfaceError struct {
	// Interface is the name of the interface, as given to Open.
	Interface string
	// Permanent is true when capture on the interface has stopped; false
	// when the interface went down or disappeared and Run reopens it when
	// it is back.
	Permanent bool
	// Err is the failure.
	Err error

	what string // what happened to a transient interface: "went down", "disappeared"
}

func (e *InterfaceError) Error() string {
	if e.Permanent {
		return fmt.Sprintf("capture: interface %q: %v; capture on it has stopped", e.Interface, e.Err)
	}
	what := e.what
	if what == "" {
		what = "failed"
	}
	return fmt.Sprintf("capture: interface %q %s (%v); capture resumes when it is back", e.Interface, what, e.Err)
}

func (e *InterfaceError) Unwrap() error { return e.Err }

// Is makes errors.Is(err, ErrPermanent) true for a permanent failure.
func (e *InterfaceError) Is(target error) bool { return target == ErrPermanent && e.Permanent }

// linkState is what an interface lookup found.
type linkState uint8

const (
	linkUnknown linkState = iota // the lookup itself failed
	linkMissing
	linkDown
	linkUp
)

// classify tells a transient failure err from a permanent one, given the
// state of the interface looked up after it; for a transient failure it says
// what happened.
func classify(err error, st linkState) (what string, permanent bool) {
	switch {
	case st == linkMissing:
		return "disappeared", false
	case st == linkDown:
		return "went down", false
	case errors.Is(err, unix.ENODEV):
		return "disappeared", false // and it is back already
	case errors.Is(err, unix.ENETDOWN):
		return "went down", false
	}
	return "", true
}

// failure classifies the failure err of interface f, looking at the
// interface in the capture's network namespace.
func (c *Capture) failure(f *iface, err error) *InterfaceError {
	st := linkUnknown
	_ = c.inNetns(func() error {
		st, _, _ = stateOf(f.link.Name)
		return nil
	})
	what, permanent := classify(err, st)
	return &InterfaceError{Interface: f.link.Name, Permanent: permanent, Err: err, what: what}
}

// report hands e to Options.OnError.
func (c *Capture) report(e *InterfaceError) {
	if c.opts.OnError != nil {
		c.opts.OnError(e.Interface, e)
	}
}

// hint says what is missing when err is a permission error.
func hint(err error) error {
	if errors.Is(err, unix.EPERM) || errors.Is(err, unix.EACCES) {
		return fmt.Errorf("permission denied: capturing needs CAP_NET_RAW (or root): %w", err)
	}
	return err
}
