package main

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/gohogs/gohogs/capture"
	"github.com/gohogs/gohogs/trace"
)

// version is printed by -V, after a space, as nethogs prints its own.
const version = "0.1.0"

// options is everything the command line says.
type options struct {
	version, help bool
	trace         bool          // -t
	bughunt       bool          // -x
	promisc       bool          // -p
	bySent        bool          // -s
	delay         time.Duration // -d
	view          trace.ViewMode
	count         int    // -c, 0 = unlimited
	cmdline       bool   // -l
	all           bool   // -a
	filter        string // -f
	udp           bool   // -C
	basename      bool   // -b
	gcPeriod      int    // -g
	pids          []int  // -P
	devices       []string

	// Long options, gohogs's own.
	duration   time.Duration   // --duration
	output     string          // --output
	rotate     time.Duration   // --rotate
	backend    capture.Backend // --backend
	json       bool            // --json
	listen     string          // --listen
	webConfig  string          // --web.config.file
	pidLabel   bool            // --metrics-pid
	ctrLabel   bool            // --metrics-container
	procRoot   string          // --proc
	noNames    bool            // --no-remote-names
	headless   bool            // --listen without -t, --json or --output: no trace output
	man        bool            // --man
	completion string          // --completion
}

// usageError is a command line error: nethogs prints it and its usage on
// stderr and exits 1.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

// valueError is a bad value for a flag: one line that says which and why.
type valueError struct{ msg string }

func (e *valueError) Error() string { return e.msg }

// flagTable is gohogs's command line: parseArgs reads it, and -h
// (usage.go), the man page gohogs(8) (man.go) and the shell completion
// (completion.go) are made from it, so that none of them can know a flag
// the others do not. Adding a flag is one entry.
//
// nethogs's entries come first, in the order and with the words of
// nethogs's -h (gohogs -h prints nethogs's bytes there); synopsisOrder
// gives the order of nethogs's usage line.
var flagTable = []flagDef{
	{short: 'V', long: "version", help: "prints version.",
		man: "Print the version and exit.",
		set: func(o *options, _ string) error { o.version = true; return nil }},
	{short: 'h', long: "help", help: "prints this help.",
		man: "Print the usage on standard output and exit.",
		set: func(o *options, _ string) error { o.help = true; return nil }},
	{short: 'x', help: "bughunt mode - implies tracemode.",
		man: "Bug-hunt mode: trace mode, with diagnostics of each refresh (packets, flows, lookups, capture drops) on standard error.",
		set: func(o *options, _ string) error { o.bughunt = true; return nil }},
	{short: 'd', arg: "seconds", help: "delay for update refresh rate in seconds. default is 1.",
		man: "Refresh every that many seconds (default 1). Fractions are allowed (0.5); 0 is refused.",
		set: func(o *options, val string) (err error) { o.delay, err = parseSeconds("-d", val); return err }},
	{short: 'v', arg: "mode", help: "view mode (0 = KB/s, 1 = total KB, 2 = total B, 3 = total MB, 4 = MB/s, 5 = GB/s). default is 0.",
		man:      "View mode: 0 KB/s (default), 1 total KB, 2 total bytes, 3 total MB, 4 MB/s, 5 GB/s; KB = 1024 bytes.",
		complete: argWords, words: viewModes,
		set: func(o *options, val string) error {
			n, err := parseInt("-v", val, 0, trace.NumViewModes-1,
				"a view mode from 0 to 5 (0 KB/s, 1 total KB, 2 total B, 3 total MB, 4 MB/s, 5 GB/s)")
			o.view = trace.ViewMode(n)
			return err
		}},
	{short: 'c', arg: "count", help: "number of updates. default is 0 (unlimited).",
		man: "Exit after that many refreshes, the first one (at start) included; 0 (default) for no limit.",
		set: func(o *options, val string) (err error) {
			o.count, err = parseInt("-c", val, 0, math.MaxInt32, "a number of refreshes, 0 for no limit")
			return err
		}},
	{short: 't', help: "tracemode.",
		man: "Trace mode: print each refresh as lines NAME/PID/UID, SENT and RECEIVED, in nethogs's format, instead of the full-screen view.",
		set: func(o *options, _ string) error { o.trace = true; return nil }},
	{short: 'p', help: "sniff in promiscious mode (not recommended).",
		man: "Put the interfaces in promiscuous mode (not recommended).",
		set: func(o *options, _ string) error { o.promisc = true; return nil }},
	{short: 's', help: "sort output by sent column.",
		man: "Sort by bytes sent instead of received.",
		set: func(o *options, _ string) error { o.bySent = true; return nil }},
	{short: 'l', help: "display command line.",
		man: "Show each process's command line, not only its program.",
		set: func(o *options, _ string) error { o.cmdline = true; return nil }},
	{short: 'a', help: "monitor all devices, even loopback/stopped ones.",
		man: "Allow loopback and interfaces that are not up and running, named or (without device names) all.",
		set: func(o *options, _ string) error { o.all = true; return nil }},
	{short: 'C', help: "capture TCP and UDP.",
		man: "Account UDP as well as TCP.",
		set: func(o *options, _ string) error { o.udp = true; return nil }},
	{short: 'g', arg: "period", help: "garbage collection period in number of refresh. default is 50.",
		man: "Forget processes idle for a while every that many refreshes (default 50; 0 never), in the rate view modes.",
		set: func(o *options, val string) (err error) {
			o.gcPeriod, err = parseInt("-g", val, 0, math.MaxInt32, "a number of refreshes, 0 to never collect")
			return err
		}},
	{short: 'b', help: "Short program name. Displays only the program name.",
		man: "Show only the program's base name, not its path.",
		set: func(o *options, _ string) error { o.basename = true; return nil }},
	{short: 'f', arg: "filter", help: "EXPERIMENTAL: specify string pcap filter (like tcpdump). This may be removed or changed in a future version.",
		man: "A pcap filter expression (as tcpdump takes) for the packets to account; needs the libpcap backend (a build with -tags pcap).",
		set: func(o *options, val string) error { o.filter = val; return nil }},
	{operand: "device", help: "device(s) to monitor. default is all interfaces up and running excluding loopback",
		man:      "The interfaces to watch; default: every interface that is up and running, loopback excluded.",
		complete: argInterfaces},
	{short: 'P', arg: "pid", help: "Show only processes.",
		man: "Show only this process; repeat for more. The traffic of other processes goes to the unknown rows.",
		set: func(o *options, val string) error {
			pid, err := parseInt("-P", val, 1, math.MaxInt32, "a process id")
			o.pids = append(o.pids, pid)
			return err
		}},

	{long: "duration", arg: "D", section: sectionGohogs,
		help: "stop after D (Go duration: 90s, 1h), rounded up to whole refreshes, after a complete last refresh.",
		set: func(o *options, val string) (err error) {
			o.duration, err = parseDuration("--duration", val)
			return err
		}},
	{long: "output", arg: "PATTERN", section: sectionGohogs, complete: argFiles,
		help: "write the trace to files named by strftime fields (%Y %m %d %H %M %S %b ...).",
		set: func(o *options, val string) error {
			if val == "" {
				return &valueError{"gohogs: --output: empty file name pattern"}
			}
			o.output = val
			return nil
		}},
	{long: "rotate", arg: "D", section: sectionGohogs,
		help: "with --output, start a new file every D, between two refreshes.",
		set:  func(o *options, val string) (err error) { o.rotate, err = parseDuration("--rotate", val); return err }},
	{long: "backend", arg: "NAME", section: sectionGohogs, complete: argWords, words: backendNames,
		help: "capture backend: ebpf (the default where the kernel and privileges allow it, else afpacket), afpacket, or pcap (when built with -tags pcap).",
		set: func(o *options, val string) (err error) {
			if o.backend, err = capture.ParseBackend(val); err != nil {
				return &valueError{fmt.Sprintf("gohogs: --backend: unknown backend %q: want ebpf, afpacket or pcap", val)}
			}
			return nil
		}},
	{long: "json", section: sectionGohogs,
		help: "one JSON object per refresh instead of the trace lines (exact byte counts; implies -t).",
		set:  func(o *options, _ string) error { o.json = true; return nil }},
	{long: "listen", arg: "ADDR", section: sectionGohogs,
		help: "serve Prometheus metrics on http://ADDR/metrics (\":9090\" binds 127.0.0.1:9090).\n" +
			"Without -t, --json or --output it runs headless: no trace output, metrics only.",
		set: setListen},
	{long: "web.config.file", arg: "FILE", section: sectionGohogs, complete: argFiles,
		help: "TLS and basic auth for --listen, in the web config format of Prometheus's exporters.",
		man: "With --listen: serve over TLS and/or ask for basic auth as FILE says, in the web configuration format " +
			"of Prometheus's exporter-toolkit (see EXPORTER). A file that cannot be read or used stops gohogs at start.",
		set: setWebConfig},
	{long: "metrics-pid", section: sectionGohogs,
		help: "label the process counters with the pid too (one series per process).",
		set:  func(o *options, _ string) error { o.pidLabel = true; return nil }},
	{long: "metrics-container", section: sectionGohogs,
		help: "label the process counters with the container and the systemd unit too.",
		set:  func(o *options, _ string) error { o.ctrLabel = true; return nil }},
	{long: "proc", arg: "DIR", section: sectionGohogs, complete: argFiles,
		help: "read processes from the proc file system mounted at DIR (default /proc), such as the host's given to a container.",
		set: func(o *options, val string) error {
			if val == "" {
				return &valueError{"gohogs: --proc: empty directory name"}
			}
			o.procRoot = val
			return nil
		}},
	{long: "no-remote-names", section: sectionGohogs,
		help: "do not read DNS answers to name the connections' remote ends (--json remote_name, the screen).",
		man: "Do not name the connections' remote ends. By default, when connections are shown (--json, the interactive view), " +
			"gohogs reads the DNS answers crossing the interfaces (from UDP and TCP port 53, on a packet socket of its own; it " +
			"never sends a query) and names each connection by the name that was resolved to its address.",
		set: func(o *options, _ string) error { o.noNames = true; return nil }},
	{long: "man", section: sectionGohogs,
		help: "print the manual page gohogs(8) in roff: gohogs --man > /usr/local/share/man/man8/gohogs.8",
		man:  "Print this manual page (roff) on standard output and exit: gohogs --man > /usr/local/share/man/man8/gohogs.8 installs it.",
		set:  func(o *options, _ string) error { o.man = true; return nil }},
	{long: "completion", arg: "SHELL", section: sectionGohogs, complete: argWords, words: completionShells,
		help: "print the shell completion of the flags and interfaces (bash): source <(gohogs --completion bash)",
		set:  setCompletion},
	{operand: "report FILE...", section: sectionGohogs,
		help: "sum trace logs into per-process totals (gohogs report -h).",
		man:  "Sum trace logs into per-process totals; see REPORT."},
}

// synopsisOrder is the order of nethogs's usage line, which differs from
// its list (and leaves out -g).
const synopsisOrder = "VhxdvctpsalfCbP"

// parseArgs parses the command line as GNU getopt does for nethogs: options
// may follow device names, short flags combine (-tC), an option's argument
// is attached (-d2) or the next word (-d 2), and "--" ends the options.
func parseArgs(args []string) (*options, error) {
	o := &options{delay: time.Second, gcPeriod: 50}
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			o.devices = append(o.devices, args[i+1:]...)
			i = len(args)
		case strings.HasPrefix(a, "--"):
			name, val, hasVal := strings.Cut(a[2:], "=")
			f := lookupLong(flagTable, name)
			if f == nil {
				return nil, &usageError{fmt.Sprintf("gohogs: unrecognized option '--%s'", name)}
			}
			if f.arg != "" && !hasVal {
				if i+1 >= len(args) {
					return nil, &usageError{fmt.Sprintf("gohogs: option '--%s' requires an argument", name)}
				}
				i++
				val = args[i]
			} else if f.arg == "" && hasVal {
				return nil, &usageError{fmt.Sprintf("gohogs: option '--%s' doesn't allow an argument", name)}
			}
			if err := f.set(o, val); err != nil {
				return nil, err
			}
		case len(a) > 1 && a[0] == '-':
			for j := 1; j < len(a); j++ {
				c := a[j]
				f := lookupShort(flagTable, c)
				if f == nil {
					return nil, &usageError{fmt.Sprintf("gohogs: invalid option -- '%c'", c)}
				}
				val := ""
				if f.arg != "" {
					val = a[j+1:]
					if val == "" {
						if i+1 >= len(args) {
							return nil, &usageError{fmt.Sprintf("gohogs: option requires an argument -- '%c'", c)}
						}
						i++
						val = args[i]
					}
					j = len(a)
				}
				if err := f.set(o, val); err != nil {
					return nil, err
				}
			}
		default:
			o.devices = append(o.devices, a)
		}
	}
	if o.bughunt {
		o.trace = true
	}
	o.exportModes()
	if o.rotate > 0 && o.output == "" {
		return nil, &valueError{"gohogs: --rotate needs --output: there is no file to rotate when writing to stdout"}
	}
	if o.webConfig != "" && o.listen == "" {
		return nil, &valueError{"gohogs: --web.config.file needs --listen: it configures the metrics server"}
	}
	return o, nil
}

func parseInt(flag, val string, lo, hi int, want string) (int, error) {
	n, err := strconv.Atoi(val)
	if err != nil || n < lo || n > hi {
		return 0, &valueError{fmt.Sprintf("gohogs: %s: invalid value %q: want %s", flag, val, want)}
	}
	return n, nil
}

// parseSeconds reads -d: seconds, fractions allowed; zero is refused rather
// than spinning in a busy loop as nethogs does.
func parseSeconds(flag, val string) (time.Duration, error) {
	f, err := strconv.ParseFloat(val, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, &valueError{fmt.Sprintf("gohogs: %s: invalid delay %q: want a number of seconds such as 1 or 0.5", flag, val)}
	}
	d := time.Duration(f * float64(time.Second))
	if d < time.Millisecond || f > 86400*365 {
		return 0, &valueError{fmt.Sprintf("gohogs: %s: delay %q out of range: want at least 0.001 seconds", flag, val)}
	}
	return d, nil
}

func parseDuration(flag, val string) (time.Duration, error) {
	d, err := time.ParseDuration(val)
	if err != nil {
		return 0, &valueError{fmt.Sprintf("gohogs: %s: invalid duration %q: want a Go duration such as 90s, 15m or 1h", flag, val)}
	}
	if d <= 0 {
		return 0, &valueError{fmt.Sprintf("gohogs: %s: duration %q must be positive", flag, val)}
	}
	return d, nil
}

// isUsage tells whether err calls for the usage text.
func isUsage(err error) bool {
	var u *usageError
	return errors.As(err, &u)
}
