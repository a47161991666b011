package gohogs

import (
	"context"
	"fmt"

	"github.com/gohogs/gohogs/internal/dnswatch"
	"github.com/gohogs/gohogs/trace"
)

// NameStats are the counters of the DNS answers watched for
// Options.RemoteNames (see internal/dnswatch's Stats).
type NameStats struct {
	// Err is why the answers are not watched although RemoteNames asked
	// (a socket that could not be opened); nil otherwise.
	Err error
	dnswatch.Stats
}

// remoteNames is a Monitor's trace.RemoteNamer: its DNS watcher.
type remoteNames struct{ w *dnswatch.Watcher }

func (n remoteNames) RemoteName(c trace.Conn) string {
	return n.w.Name(uint8(c.Proto), c.Local, c.Remote)
}

// openNames starts watching the DNS answers on the interfaces, in the
// calling thread's network namespace, if opts ask for remote names. Names
// must outlive the wait from an answer to the refresh that first lists
// the connection it led to, and a connection keeps its name between two
// refreshes however far apart they are.
func openNames(ctx context.Context, opts Options, ifaces []string) (*dnswatch.Watcher, trace.RemoteNamer, error) {
	if !opts.RemoteNames {
		return nil, nil, nil
	}
	w, err := dnswatch.Open(ctx, dnswatch.Options{
		Interfaces: ifaces,
		MinTTL:     max(dnswatch.DefaultMinTTL, 2*opts.Interval),
		ConnTTL:    max(dnswatch.DefaultConnTTL, 3*opts.Interval),
	})
	if err != nil {
		return nil, nil, fmt.Errorf("gohogs: remote names: %w", err)
	}
	return w, remoteNames{w}, nil
}

// nameStats returns the DNS watcher's counters.
func (m *Monitor) nameStats() NameStats {
	if m.dns == nil {
		return NameStats{Err: m.dnsErr}
	}
	return NameStats{Stats: m.dns.Stats()}
}

// closeNames stops watching DNS answers.
func (m *Monitor) closeNames() error {
	if m.dns == nil {
		return nil
	}
	return m.dns.Close()
}
