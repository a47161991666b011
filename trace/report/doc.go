// Package report reads trace logs written by gohogs or nethogs (-t) and sums
// them into per-process totals: bytes sent and received, peak and mean rate,
// and when each process was seen. It is the library behind `gohogs report`.
//
// # Bytes, not rates
//
// A trace log holds one block per refresh ("Refreshing:" then one
// NAME/PID/UID<TAB>SENT<TAB>RECV row per process). What the numbers mean
// depends on the view mode (nethogs -v): in the rate modes (0 KB/s, 4 MB/s,
// 5 GB/s) a row's bytes are value × unit × delay, summed over the refreshes;
// in the cumulative modes (1 KB, 2 B, 3 MB) the value is a running total since
// the program started, so a process's bytes are its last value in the run,
// never a sum over refreshes (a running total that shrinks has restarted; the
// value before the restart counts too). KB = 1024 B, MB = 1024² B, GB = 1024³ B.
//
// # Where the delay and view mode come from
//
// gohogs starts every file it writes with --output with a header line (see
// Header): "# gohogs delay=1s view=0 run=20261128T041304.123Z seq=1". It gives
// the delay and view mode for that file, overriding Options, and ties rotated
// files of one run together: in the cumulative modes the counters continue
// across a run's files (taken in seq order), so the last value over the whole
// run counts; different runs add up. A header may also appear in the middle of
// an input (logs concatenated on stdin); it starts a new stretch with its
// settings. Without a header (nethogs logs), Options.Delay and Options.ViewMode
// apply and every input is a run of its own; start-up lines ("Adding local
// address", "... link detected") after refresh blocks start a new run too,
// read with Options (a nethogs log appended to another). With
// ViewAuto the input is read as KB/s and, when no process's number ever
// decreases while some grow in 3 or more refreshes, a WarnViewMode warning
// says it looks cumulative. Header-less logs carry no times; when their
// file names say when they started (cron jobs name nethogs logs
// %b_%d_%Y_%H_%M_%S), Options.NameTime reads it, as the header's run= does.
//
// # Rows
//
// Process rows are split on the last two '/', since names may contain '/'
// and spaces ("sshd: root@pts/0/4002/0"); with nethogs -l the name includes
// the arguments and is kept whole. The rows nethogs makes for traffic without
// an owner are kept as they are, with pid 0: "unknown TCP", "unknown UDP", and
// the pseudo-processes nethogs names after a connection
// ("127.0.0.1:44770-127.0.0.1:7101"); grouped by name they stay under their own
// names, grouped by user they go to uid -1. "Unknown connection:" lines,
// start-up lines, '#' comments, empty lines and nethogs's stderr diagnostics
// (in logs made with &>) are structure and carry no numbers.
//
// # Bad input
//
// A line that is not understood, or a process row outside a refresh block, is
// skipped and recorded as a Warning with its file and line number; the rest is
// still summed. Nothing here prints: the caller reports Warnings. Inputs are
// held in memory as parsed rows (a process index and two numbers each, the
// names kept once), so memory grows with the rows read, not with the text.
// Gzip-compressed logs (logrotate's compress) are read transparently.
//
// The lines are read with package nethogs, the trace grammar that
// package trace writes with.
package report
