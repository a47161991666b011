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
	duration time.Duration   // --duration
	output   string          // --output
	rotate   time.Duration   // --rotate
	backend  capture.Backend // --backend
	json     bool            // --json
	listen   string          // --listen
	pidLabel bool            // --metrics-pid
	ctrLabel bool            // --metrics-container
	procRoot string          // --proc
	headless bool            // --listen without -t, --json or --output: no trace output
}

// usageError is a command line error: nethogs prints it and its usage on
// stderr and exits 1.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

// valueError is a bad value for a flag: one line that says which and why.
type valueError struct{ msg string }

func (e *valueError) Error() string { return e.msg }

const usageText = `usage: gohogs [-V] [-h] [-x] [-d seconds] [-v mode] [-c count] [-t] [-p] [-s] [-a] [-l] [-f filter] [-C] [-b] [-P pid] [device [device [device ...]]]
		-V : prints version.
		-h : prints this help.
		-x : bughunt mode - implies tracemode.
		-d : delay for update refresh rate in seconds. default is 1.
		-v : view mode (0 = KB/s, 1 = total KB, 2 = total B, 3 = total MB, 4 = MB/s, 5 = GB/s). default is 0.
		-c : number of updates. default is 0 (unlimited).
		-t : tracemode.
		-p : sniff in promiscious mode (not recommended).
		-s : sort output by sent column.
		-l : display command line.
		-a : monitor all devices, even loopback/stopped ones.
		-C : capture TCP and UDP.
		-g : garbage collection period in number of refresh. default is 50.
		-b : Short program name. Displays only the program name.
		-f : EXPERIMENTAL: specify string pcap filter (like tcpdump). This may be removed or changed in a future version.
		device : device(s) to monitor. default is all interfaces up and running excluding loopback
		-P : Show only processes.

gohogs's own options:
		--duration D : stop after D (Go duration: 90s, 1h), rounded up to whole refreshes, after a complete last refresh.
		--output PATTERN : write the trace to files named by strftime fields (%Y %m %d %H %M %S %b ...).
		--rotate D : with --output, start a new file every D, between two refreshes.
		--backend NAME : capture backend: afpacket (default) or pcap (when built with -tags pcap).
		--json : one JSON object per refresh instead of the trace lines (exact byte counts; implies -t).
		--listen ADDR : serve Prometheus metrics on http://ADDR/metrics (":9090" binds 127.0.0.1:9090).
		         Without -t, --json or --output it runs headless: no trace output, metrics only.
		--metrics-pid : label the process counters with the pid too (one series per process).
		--metrics-container : label the process counters with the container and the systemd unit too.
		--proc DIR : read processes from the proc file system mounted at DIR (default /proc), such as the host's given to a container.
		report FILE... : sum trace logs into per-process totals (gohogs report -h).

When gohogs is running, press:
 q: quit
 s: sort by SENT traffic
 r: sort by RECEIVED traffic
 l: display command line
 b: display the program basename instead of the fullpath
 m: switch between total (KB, B, MB) and throughput (KB/s, MB/s, GB/s) mode
`

// shortSpec is nethogs's getopt string.
const shortSpec = "Vhxtpsd:v:c:laf:Cbg:P:"

var longSpec = map[string]bool{ // name → takes an argument
	"duration": true, "output": true, "rotate": true, "backend": true,
	"json": false, "listen": true, "metrics-pid": false, "metrics-container": false, "proc": true,
	"help": false, "version": false,
}

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
			takes, ok := longSpec[name]
			if !ok {
				return nil, &usageError{fmt.Sprintf("gohogs: unrecognized option '--%s'", name)}
			}
			if takes && !hasVal {
				if i+1 >= len(args) {
					return nil, &usageError{fmt.Sprintf("gohogs: option '--%s' requires an argument", name)}
				}
				i++
				val = args[i]
			} else if !takes && hasVal {
				return nil, &usageError{fmt.Sprintf("gohogs: option '--%s' doesn't allow an argument", name)}
			}
			if err := o.setLong(name, val); err != nil {
				return nil, err
			}
		case len(a) > 1 && a[0] == '-':
			for j := 1; j < len(a); j++ {
				c := a[j]
				k := strings.IndexByte(shortSpec, c)
				if k < 0 || c == ':' {
					return nil, &usageError{fmt.Sprintf("gohogs: invalid option -- '%c'", c)}
				}
				if k+1 < len(shortSpec) && shortSpec[k+1] == ':' {
					val := a[j+1:]
					if val == "" {
						if i+1 >= len(args) {
							return nil, &usageError{fmt.Sprintf("gohogs: option requires an argument -- '%c'", c)}
						}
						i++
						val = args[i]
					}
					if err := o.setShort(c, val); err != nil {
						return nil, err
					}
					break
				}
				if err := o.setShort(c, ""); err != nil {
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
	return o, nil
}

func (o *options) setShort(c byte, val string) error {
	var err error
	switch c {
	case 'V':
		o.version = true
	case 'h':
		o.help = true
	case 'x':
		o.bughunt = true
	case 't':
		o.trace = true
	case 'p':
		o.promisc = true
	case 's':
		o.bySent = true
	case 'l':
		o.cmdline = true
	case 'a':
		o.all = true
	case 'C':
		o.udp = true
	case 'b':
		o.basename = true
	case 'f':
		o.filter = val
	case 'd':
		o.delay, err = parseSeconds("-d", val)
	case 'v':
		var n int
		n, err = parseInt("-v", val, 0, trace.NumViewModes-1,
			"a view mode from 0 to 5 (0 KB/s, 1 total KB, 2 total B, 3 total MB, 4 MB/s, 5 GB/s)")
		o.view = trace.ViewMode(n)
	case 'c':
		o.count, err = parseInt("-c", val, 0, math.MaxInt32, "a number of refreshes, 0 for no limit")
	case 'g':
		o.gcPeriod, err = parseInt("-g", val, 0, math.MaxInt32, "a number of refreshes, 0 to never collect")
	case 'P':
		var pid int
		pid, err = parseInt("-P", val, 1, math.MaxInt32, "a process id")
		o.pids = append(o.pids, pid)
	}
	return err
}

// longShort are the long options that are another name for a short one.
var longShort = map[string]byte{"help": 'h', "version": 'V'}

func (o *options) setLong(name, val string) error {
	if c, ok := longShort[name]; ok {
		return o.setShort(c, val)
	}
	var err error
	switch name {
	case "duration":
		o.duration, err = parseDuration("--duration", val)
	case "rotate":
		o.rotate, err = parseDuration("--rotate", val)
	case "proc":
		if val == "" {
			err = &valueError{"gohogs: --proc: empty directory name"}
		}
		o.procRoot = val
	case "output":
		if val == "" {
			err = &valueError{"gohogs: --output: empty file name pattern"}
		}
		o.output = val
	case "json", "listen", "metrics-pid", "metrics-container":
		err = o.setExportLong(name, val)
	case "backend":
		var perr error
		if o.backend, perr = capture.ParseBackend(val); perr != nil {
			err = &valueError{fmt.Sprintf("gohogs: --backend: unknown backend %q: want afpacket or pcap", val)}
		}
	}
	return err
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
