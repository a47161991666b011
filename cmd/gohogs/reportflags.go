package main

// reportFlagTable describes the flags of `gohogs report` for the man page
// and the shell completion. runReport parses them with a flag.FlagSet of
// its own (set is nil here), which takes each with one dash or two;
// TestReportFlagTable checks that the two agree, and reportUsage lists
// them: a new report flag is one entry here beside its FlagSet line.
var reportFlagTable = []flagDef{
	{short: 'd', arg: "SECONDS",
		help: "The refresh delay of files without a header, in seconds (fractions allowed: 0.5) or as a Go duration (500ms); default 1."},
	{short: 'v', arg: "MODE", complete: argWords, words: viewModes,
		help: "The view mode of files without a header: 0 KB/s, 1 total KB, 2 total bytes, 3 total MB, 4 MB/s, 5 GB/s. " +
			"When not given, 0 is assumed and a warning says when the numbers only grow, as in a cumulative mode."},
	{long: "by", arg: "KEY", complete: argWords, words: groupByNames,
		help: "Group the rows by program name (name, the default), by process (pid: pid, uid and name), by uid (user), " +
			"by systemd unit (unit), by container (container) or by remote end (remote: its DNS name when the log has it, else its address). " +
			"unit, container and remote are in JSON logs only; trace logs' rows group under a placeholder. " +
			"The rows of traffic without an owner keep their own names; by user they are uid \"-\"."},
	{long: "top", arg: "N",
		help: "Print only the N largest rows (0: all)."},
	{long: "format", arg: "FORMAT", complete: argWords, words: formatNames,
		help: "The output format: table (the default; human units), csv or json (exact bytes as integers, rates in bytes per second)."},
	{long: "every", arg: "D",
		help: "Split the totals into time buckets of D (1m, 15m, 1h, 1d): csv gets a first column time (the bucket's start, RFC 3339), json a time key, the table one block per bucket."},
	{long: "since", arg: "T",
		help: "Count only the refreshes at or after T: RFC 3339, a date, a clock time today, or relative to now (-24h)."},
	{long: "until", arg: "T",
		help: "Count only the refreshes before T (as --since)."},
	{long: "plot", arg: "FILE", complete: argFiles,
		help: "Draw the top groups over time as a stacked chart to FILE.svg or FILE.png, in the --every buckets."},
	{long: "name-time", arg: "PATTERN",
		help: "The strftime pattern (%Y %m %d %H %M %S %b ...) that named files without a header after their start time, " +
			"local time: it gives their refresh times. For nethogs's cron job's logs: --name-time %b_%d_%Y_%H_%M_%S"},
	{short: 'h', long: "help",
		help: "Print the report's help."},
	{operand: "FILE...", complete: argFiles,
		help: "Logs of gohogs (trace: -t --output; JSON: --json --output) or nethogs (-t), gzip-compressed or not; - reads standard input."},
}
