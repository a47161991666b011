// Command bench runs gohogs and nethogs 0.8.7 side by side on the same
// traffic and writes the figures as Markdown (bench/RESULTS.md).
//
// Run it as root from the repository root:
//
//	sudo go run ./bench -out bench/RESULTS.md
//
// Design: the suite makes two network namespaces joined by a veth pair
// (internal/netnstest: unique names, offloads off) and starts one traffic
// server in B. A scenario is its traffic and what it measures; one loop
// (scenario.run) does the rest. For each run of each scenario it starts
// gohogs and nethogs on A's veth at the same time (`ip netns exec A ...`),
// waits until both print, samples their CPU (utime+stime from
// /proc/PID/stat), the veth's counters and the clock, starts client
// processes in A (this binary re-executed with -gen MODE, so their pids and
// argv[0] are known), waits for them (bounded), waits until the veth is
// quiet, samples again, waits two more refreshes, stops both monitors and
// compares their trace output with the ground truth: the bytes the
// generators sent and the frame counters of the interface. Traffic goes only between the suite's
// own namespaces. Everything it creates is removed at the end, also on
// error or Ctrl-C. `-passive IFACE -for 60s` adds a run on a real interface
// in the host namespace that generates nothing.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"time"

	"github.com/gohogs/gohogs/internal/netnstest"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "-gen" {
		os.Exit(genMain(os.Args[2:]))
	}
	os.Exit(benchMain())
}

func benchMain() int {
	out := flag.String("out", "", "write the Markdown report to this file (default: stdout only)")
	runs := flag.Int("runs", 3, "runs per scenario (the long scenarios run once)")
	only := flag.String("only", "", "run only the scenarios whose name matches this regular expression")
	gohogsBin := flag.String("gohogs", "", "gohogs binary (default: build ./cmd/gohogs from the current tree)")
	nethogsBin := flag.String("nethogs", "/usr/sbin/nethogs", "nethogs binary")
	passiveIf := flag.String("passive", "", "also watch this real interface with no traffic generated")
	passiveFor := flag.Duration("for", 60*time.Second, "how long -passive watches")
	micro := flag.Bool("micro", true, "also run the Go micro-benchmarks of capture, trace and procmap")
	raw := flag.String("raw", "", "keep every monitor's stdout and stderr in this directory")
	podman := flag.Bool("podman", false, "also run a real podman container (touches the host's namespace: a veth, podman's bridge and rules, an image, all removed)")
	list := flag.Bool("list", false, "list the scenarios and exit")
	flag.Parse()
	if *list {
		for _, s := range scenarios() {
			fmt.Println(s.name)
		}
		return 0
	}
	if os.Geteuid() != 0 {
		fmt.Fprintln(os.Stderr, "bench: needs root (network namespaces, packet capture)")
		return 1
	}
	var re *regexp.Regexp
	if *only != "" {
		var err error
		if re, err = regexp.Compile(*only); err != nil {
			fmt.Fprintf(os.Stderr, "bench: -only: %v\n", err)
			return 1
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cl := &cleanups{}
	defer cl.run()
	logf := func(format string, a ...any) {
		fmt.Fprintf(os.Stderr, "%s bench: %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, a...))
	}
	report, err := suite(ctx, cl, logf, *runs, re, *gohogsBin, *nethogsBin, *passiveIf, *passiveFor, *micro, *raw, *podman)
	if err != nil {
		logf("%v", err)
		return 1
	}
	if *out != "" {
		if err := os.WriteFile(*out, []byte(report), 0o644); err != nil {
			logf("write %s: %v", *out, err)
			return 1
		}
		logf("wrote %s", *out)
	} else {
		fmt.Print(report)
	}
	return 0
}

func suite(ctx context.Context, cl *cleanups, logf func(string, ...any), runs int, re *regexp.Regexp,
	gohogsBin, nethogsBin, passiveIf string, passiveFor time.Duration, micro bool, raw string, podman bool) (string, error) {
	began := time.Now()
	self, err := os.Executable()
	if err != nil {
		return "", fmt.Errorf("own path: %w", err)
	}
	if _, err := os.Stat(nethogsBin); err != nil {
		return "", fmt.Errorf("nethogs: %w", err)
	}
	tmp, err := os.MkdirTemp("", "gohogs-bench")
	if err != nil {
		return "", fmt.Errorf("temp dir: %w", err)
	}
	cl.add(func() { os.RemoveAll(tmp) })
	// The generators run as the suite's own binary: keep a copy where
	// `go run`'s cache cleanup cannot remove it mid-run.
	if data, err := os.ReadFile(self); err == nil {
		c := filepath.Join(tmp, "bench")
		if err := os.WriteFile(c, data, 0o755); err == nil {
			self = c
		}
	}
	commit := gitDescribe()
	if gohogsBin == "" {
		gohogsBin = filepath.Join(tmp, "gohogs")
		logf("building gohogs from the current tree (%s)", commit)
		if out, err := exec.Command("go", "build", "-o", gohogsBin, "./cmd/gohogs").CombinedOutput(); err != nil {
			return "", fmt.Errorf("go build ./cmd/gohogs (run from the repository root): %w: %s", err, out)
		}
	}
	if raw != "" {
		if err := os.MkdirAll(raw, 0o755); err != nil {
			return "", fmt.Errorf("-raw: %w", err)
		}
	}
	e := &env{ctx: ctx, cl: cl, self: self, gohogs: gohogsBin, nethogs: nethogsBin, log: logf, raw: raw}
	if err := e.makeNamespaces(); err != nil {
		return "", err
	}
	load0, _ := os.ReadFile("/proc/loadavg")
	var results []*result
	var chosen []*scenario
	for _, sc := range scenarios() {
		if re == nil || re.MatchString(sc.name) {
			chosen = append(chosen, sc)
		}
	}
	if passiveIf != "" {
		chosen = append(chosen, passive(passiveIf, passiveFor))
	}
	if podman {
		chosen = append(chosen, podmanUpload())
	}
	for _, sc := range chosen {
		logf("scenario %s", sc.name)
		r := sc.run(e, runs)
		if r.Err != "" {
			logf("scenario %s failed: %s", sc.name, r.Err)
		}
		results = append(results, r)
		if ctx.Err() != nil {
			return "", ctx.Err()
		}
	}
	load1, _ := os.ReadFile("/proc/loadavg")
	var microText string
	if micro {
		logf("Go micro-benchmarks")
		microText = microBench(ctx)
	}
	head := header(began, commit, nethogsBin, runs, passiveIf, passiveFor, podman, string(load0), string(load1))
	return markdown(head, results, limits+microText), nil
}

// makeNamespaces makes the veth pair (A: clients and monitors, B: the
// server) and a namespace with only lo (the storms on loopback, with a
// server of its own), starts both servers and registers the removal of all
// of it with e.cl.
func (e *env) makeNamespaces() error {
	p, err := netnstest.CreatePair("gb")
	if err != nil {
		return err
	}
	e.cl.add(func() { e.removed("veth pair", p.Remove()) })
	e.p = p
	if !p.OffloadsOff {
		return fmt.Errorf("veth pair %s–%s: could not turn offloads off (ethtool)", p.NSA, p.NSB)
	}
	// Short connection storms leave TIME_WAIT sockets; let the client reuse ports.
	if out, err := exec.Command("ip", "netns", "exec", p.NSA, "sysctl", "-qw", "net.ipv4.tcp_tw_reuse=1").CombinedOutput(); err != nil {
		return fmt.Errorf("tcp_tw_reuse in %s: %w: %s", p.NSA, err, strings.TrimSpace(string(out)))
	}
	lo, err := netnstest.CreateLoopback("gbL")
	if err != nil {
		return err
	}
	e.cl.add(func() { e.removed("loopback namespace", lo.Remove()) })
	e.lo = lo.NS
	if _, err := e.server(p.NSB); err != nil {
		return err
	}
	e.loServer, err = e.server(e.lo)
	return err
}

// removed logs a failed removal at cleanup.
func (e *env) removed(what string, err error) {
	if err != nil {
		e.log("remove %s: %v", what, err)
	}
}

func gitDescribe() string {
	out, err := exec.Command("git", "rev-parse", "--short", "HEAD").Output()
	if err != nil {
		return "unknown commit"
	}
	c := strings.TrimSpace(string(out))
	if st, err := exec.Command("git", "status", "--porcelain", "--untracked-files=no").Output(); err == nil && len(st) > 0 {
		c += " + uncommitted changes"
	}
	return c
}

func firstLine(cmd ...string) string {
	out, err := exec.Command(cmd[0], cmd[1:]...).CombinedOutput()
	if err != nil {
		return "?"
	}
	return strings.TrimSpace(strings.SplitN(string(out), "\n", 2)[0])
}

func header(began time.Time, commit, nethogsBin string, runs int, passiveIf string, passiveFor time.Duration, podman bool, load0, load1 string) string {
	model := "?"
	if out, err := exec.Command("lscpu").Output(); err == nil {
		for _, l := range strings.Split(string(out), "\n") {
			if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "Model name" {
				model = strings.TrimSpace(v)
			}
		}
	}
	cmd := "sudo go run ./bench -out bench/RESULTS.md"
	if passiveIf != "" {
		cmd += fmt.Sprintf(" -passive %s -for %gs", passiveIf, passiveFor.Seconds())
	}
	if podman {
		cmd += " -podman"
	}
	if runs != 3 {
		cmd += fmt.Sprintf(" -runs %d", runs)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "# gohogs vs nethogs 0.8.7: side-by-side benchmarks\n\n")
	fmt.Fprintf(&b, "Written by `bench/` (issue #8). Command, as root from the repository root:\n\n    %s\n\n", cmd)
	fmt.Fprintf(&b, "| | |\n|---|---|\n")
	fmt.Fprintf(&b, "| date | %s – %s UTC |\n", began.UTC().Format("2006-01-02 15:04"), time.Now().UTC().Format("15:04"))
	fmt.Fprintf(&b, "| CPU | %s, %d cores |\n", model, numCPU())
	fmt.Fprintf(&b, "| kernel | %s |\n", firstLine("uname", "-r"))
	fmt.Fprintf(&b, "| gohogs | built from commit %s |\n", commit)
	fmt.Fprintf(&b, "| nethogs | %s (%s) |\n", nethogsBin, strings.TrimSpace(firstLine(nethogsBin, "-V")))
	fmt.Fprintf(&b, "| load average at start / end | %s / %s |\n", strings.TrimSpace(load0), strings.TrimSpace(load1))
	b.WriteString(`
How to read this: both tools watch the same interface in the same namespace at the same time, on traffic the suite makes
between two network namespaces of its own over a veth (offloads off), so both see exactly the same packets. CPU is
utime+stime from /proc/PID/stat over the traffic period, as a share of one core (1.000 = one core busy). Peak RSS is VmHWM.
Ratios are gohogs/nethogs of the medians. The machine is shared with other engineers' test runs, so CPU figures carry
noise of a few percent of a core; the load average above shows how busy it was. MB = 10^6 bytes, KiB = 1024 bytes.
`)
	return b.String()
}

func numCPU() int {
	data, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return 0
	}
	return strings.Count(string(data), "\nprocessor\t") + btoi(strings.HasPrefix(string(data), "processor\t"))
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// microBench runs the packages' Go benchmarks and returns a Markdown
// section with their figures: capture, trace and procmap together, then
// report's day of logs one benchmark a process, since each one's
// peak-RSS-MB is its whole test process's peak.
func microBench(ctx context.Context) string {
	var b strings.Builder
	b.WriteString("\n## Go micro-benchmarks\n\nCommands (as root, from the repository root; the capture benchmarks make their own namespaces; " +
		"the day benchmarks stream generated logs, nothing on disk, and their time includes the generator's, given by the *Generator lines):\n\n")
	runs := [][]string{{"-bench", ".", "-benchmem", "./capture/", "./trace/", "./procmap/"}}
	for _, day := range []string{"Day/by-pid$", "Day/by-name-every-1m$", "Generator$", "JSONDay/by-name$", "JSONDay/by-remote-every-1m$", "JSONGenerator$"} {
		runs = append(runs, []string{"-bench", "^Benchmark" + day, "-benchtime", "1x", "./trace/report/"})
	}
	var out strings.Builder
	for _, r := range runs {
		args := append([]string{"test", "-run", "^$"}, r...)
		fmt.Fprintf(&b, "    go %s\n", shellQuote(args))
		c, cancel := context.WithTimeout(ctx, 5*time.Minute)
		o, err := exec.CommandContext(c, "go", args...).CombinedOutput()
		cancel()
		out.Write(o)
		if err != nil {
			fmt.Fprintf(&out, "FAIL: go %s: %v\n", shellQuote(args), err)
		}
	}
	b.WriteString("\n```\n")
	for _, l := range strings.Split(out.String(), "\n") {
		if strings.HasPrefix(l, "Benchmark") || strings.HasPrefix(l, "pkg:") || strings.HasPrefix(l, "ok") ||
			strings.HasPrefix(l, "FAIL") || strings.HasPrefix(l, "---") || strings.HasPrefix(l, "cpu:") {
			b.WriteString(l + "\n")
		}
	}
	b.WriteString("```\n")
	return b.String()
}

// shellQuote joins args as a shell would read them back, quoting the
// arguments that hold anything but letters, digits and ./-_.
func shellQuote(args []string) string {
	q := make([]string, len(args))
	for i, a := range args {
		if a != "" && strings.Trim(a, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789./-_") == "" {
			q[i] = a
		} else {
			q[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
	}
	return strings.Join(q, " ")
}

// limits is what the figures do not say, printed after the "behind" list.
const limits = `
## Method notes and limits

- nethogs 0.8.7 prints a refresh only when a packet wakes it up. After the traffic of each run a tick generator sends a
  1-byte UDP datagram every 0.4 s until both tools have printed two more refreshes (at most 10 s); these datagrams are
  outside the counter window (a row of their own, a few hundred bytes). When nethogs is busy rescanning /proc (the
  storms) it prints nothing for many seconds: its totals are then what it printed, and "refreshes printed per second"
  shows it.
- Shares are of the frame bytes the kernel counted on the interface (veth: tx + rx; lo: tx + 14 bytes per frame, since
  lo's counters leave out the Ethernet header that capture sees). -v 2 totals are each row's largest value over the run,
  so rows that a tool forgets after the process exits still count.
- Short-lived processes are started with ip netns exec, which forks and then execs the generator: a tool that reads the
  process name before the exec shows ip. The pid-only share says how much of the gap is the name.
- The churn run makes about 120,000 short flows in 40 s, not the million of issue #8: the whole suite is kept to about a quarter of an hour.
- The passive run watches whatever the machine's other users do on that interface; its figures move with them.
- CPU shares on this shared 2-core machine move by a few hundredths of a core between runs; small differences in the
  steady scenarios are noise (the "behind" list ignores differences under 0.01 of a core and 1 MiB).
`
