// Package tracefs finds the kernel's tracing file system, manages trace
// instances in it and parses the lines of their trace_pipe.
//
// Find looks tracefs up in /proc/self/mountinfo, as cilium/ebpf's
// internal/tracefs does: tracefs mounted anywhere, else the tracing
// directory of a debugfs mount (older systems, where tracefs is only
// reached through debugfs). Nothing is mounted unless the caller calls
// Mount.
//
// An instance (a directory under instances/) has its own ring buffer and
// event switches, so that its reader sees every event it enabled without
// disturbing other tracers. Its name records what proves its maker alive:
// the maker's pid namespace, time namespace, pid and start time (see
// Owner). RemoveStale removes only the instances whose maker is provably
// gone.
//
// ParseLine reads a trace_pipe line without allocating: a busy tracepoint
// prints a line per event, read while the events keep coming.
package tracefs
