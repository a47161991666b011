// Package report reads logs written by gohogs or nethogs (-t), and the JSON
// logs of gohogs --json, and sums them into per-group totals: bytes sent and
// received, peak and mean rate, and when each group was seen, over all the
// time read or in time buckets. It is the library behind `gohogs report`.
//
// # The question is asked first
//
// Options say the grouping (By: name, pid, user, or from JSON logs unit,
// container, remote), the time buckets (Every) and the time range (Since,
// Until) before the first Add, because the logs are summed as they are
// read: a day of 1-second logs from a busy host is tens of millions of
// rows, too many to keep. Each input stretch is counted into cells (one
// group in one bucket) of its own, merged into the report's when it turns
// out not to be a duplicate. Rows gives the totals, Buckets and BucketSeq
// the buckets.
//
// A refresh's time is the start of the interval it covers: in JSON logs
// its timestamp less its interval; in gohogs's trace logs the run's start
// (in the header) plus k × delay for refresh k of the run; in nethogs's
// logs only what Options.NameTime reads from the file name. Asked about
// time, the refreshes without one are left out, with a WarnNoTime warning.
//
// # Bytes, not rates
//
// A trace log holds one block per refresh ("Refreshing:" then one
// NAME/PID/UID<TAB>SENT<TAB>RECV row per process). What the numbers mean
// depends on the view mode (nethogs -v): in the rate modes (0 KB/s, 4 MB/s,
// 5 GB/s) a row's bytes are value × unit × delay, summed over the refreshes;
// in the cumulative modes (1 KB, 2 B, 3 MB) the value is a running total since
// the program started, so a process's bytes in a refresh are the growth of
// that total since the run's refresh before (over a whole run: its last
// value), never a sum of the values (a running total that shrinks has
// restarted; the value before the restart counts too). KB = 1024 B, MB = 1024² B, GB = 1024³ B.
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
// still summed. Nothing here prints: the caller reports Warnings. Memory
// grows with the cells (groups × buckets) and the processes seen, not with
// the rows read. Gzip-compressed logs (logrotate's compress) are read
// transparently.
//
// # JSON logs
//
// A log whose first character is '{' is a JSON log: one refresh per line
// with exact byte counts (see jsonline.go for the fields read; other keys
// are ignored, keys may come in any order, and of a key given twice the
// last counts, as in encoding/json). A line that is not JSON, not such an
// object, or lacks a field it needs, is a malformed line and counts for
// nothing. Rows without a unit or container, and bytes no connection
// carries, are grouped under NoUnit, NoContainer and NoRemote; trace rows,
// which have none of these, under FromTrace.
//
// # Why some of this is hand-written
//
// The lines are read with package nethogs, the trace grammar that package
// trace writes with. Each line is handed to it in place, as a string over
// the read buffer (unsafe.String), not copied: a day of logs is a billion
// bytes and one string per line was a third of the time. Nothing that
// refers to the buffer is kept: names and runs are cloned when first seen.
// A run's files must be counted in seq order (cumulative counters and
// refresh times continue across them), in whatever order they are added: a
// file whose run's earlier files have not come yet waits, as parsed rows,
// until they do (or until Rows, which counts it as if the missing files
// had no refreshes, as WarnGap says). Gzip-compressed logs are
// decompressed in a goroutine of their own, a few chunks ahead.
//
// JSON logs are read with a scanner of their own (jsonscan.go), not a JSON
// library: a busy host's --json log is tens of gigabytes a day, most of it
// command lines and connections that a report does not need, and the
// libraries build every value of a line before the report sees one (a parse
// tree, or the strings and slices of a struct). The scanner checks the whole
// line as encoding/json would (FuzzJSONLine holds it to encoding/json as
// an oracle), but passes over values without building them, reads numbers
// in place, and decodes a string only the first time a name, unit or
// address is seen (a cache of raw strings remembers their numbers);
// strings with escapes or bytes that are not UTF-8 are decoded by
// encoding/json itself. Rows written as cmd/gohogs/json.go writes them are
// read by matching its keys in its order (fastRow), any other spelling
// the general way. A log's lines are independent refreshes with their own
// times, so chunks of them are counted by one worker a core, each into a
// tally with its own numbering, merged when the log ends; chunk order
// only matters for line numbers, warnings and the log's hash, which the
// caller takes back in order. At most two chunks a worker are read ahead.
// AddFile maps a large uncompressed JSON log into memory instead of reading
// it (copying it from the page cache was a fifth of the time), dropping
// each chunk's pages once counted; a file truncated while mapped faults,
// the fault is caught and what is left of the file is read as usual.
package report
