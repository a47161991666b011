package main

import (
	"errors"

	"github.com/gohogs/gohogs"
	"github.com/gohogs/gohogs/procmap"
)

// pidNSWarning is the line that says, when gohogs reads a /proc of
// another pid namespace than the initial one (in a container of its own),
// what it cannot see; "" otherwise. Its pids stay right: those of the
// /proc it reads.
func pidNSWarning(m *gohogs.Monitor) string {
	if e, ok := errors.AsType[*procmap.PIDNamespaceError](m.Stats().Resolver.ConnEventsErr); ok {
		return "gohogs: " + e.Error() + ": processes outside that namespace are not seen (their sockets are shown by connection, with no pid), " +
			"nor connections that end before they are looked up; in a container, run gohogs with the host's pid namespace (--pid host), " +
			"or give it the host's /proc (-v /proc:/host/proc and --proc /host/proc)"
	}
	return ""
}
