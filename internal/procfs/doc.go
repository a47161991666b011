// Package procfs reads what procmap needs from a proc file system: the pids
// it lists, and of one process its stat, cmdline and status files, its fd
// links and its namespace links.
//
// An FS is rooted at a mount point (normally /proc; tests use fixture trees
// in testdata/), as in prometheus/procfs. That library is not used here: the
// Resolver reads these files for every process on every full scan, and
// prometheus/procfs allocates a struct, strings and a file buffer per read
// and parses every field. Here the caller passes the buffers, a Dir is an
// open /proc/PID directory descriptor (files are opened relative to it, so
// a Dir keeps naming the process it was opened for even after its pid is
// reused: reads then fail), and the parsers take only the fields asked for,
// without allocating.
package procfs
