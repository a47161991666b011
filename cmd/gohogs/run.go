package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/gohogs/gohogs"
	"github.com/gohogs/gohogs/procmap"
	"github.com/gohogs/gohogs/trace"
	"github.com/gohogs/gohogs/trace/report"
)

const noDevices = "No devices to monitor. Use '-a' to allow monitoring loopback interfaces or devices that are not up/running"

// run is the whole program; it returns the exit status.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "report" {
		return runReport(args[1:], stdin, stdout, stderr)
	}
	o, err := parseArgs(args)
	if err != nil {
		fmt.Fprintln(stderr, err)
		if isUsage(err) {
			io.WriteString(stderr, usageText)
		}
		return 1
	}
	if o.version {
		fmt.Fprintln(stdout, " version "+version)
		return 0
	}
	if o.help {
		io.WriteString(stdout, usageText)
		return 0
	}
	// A closed pipe on stdout must end the program quietly, not kill it
	// with SIGPIPE halfway through a line: writes then return EPIPE.
	signal.Ignore(syscall.SIGPIPE)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if !o.trace {
		return interactive(ctx, o, stdout, stderr)
	}
	return monitor(ctx, o, stdout, stderr)
}

// monitor runs trace mode until the refresh count, the duration or a signal
// ends it.
func monitor(ctx context.Context, o *options, stdout, stderr io.Writer) int {
	exporter, err := listenMetrics(o)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	defer exporter.close()
	m, ok := openMonitor(ctx, o, stderr, func(iface string, err error) {
		fmt.Fprintf(stderr, "gohogs: %s: %v\n", iface, err)
	})
	if !ok {
		return 1
	}
	defer m.Close()
	if err := exporter.serve(m, o, stderr); err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	defer exporter.close() // before m.Close: no scrape reads a closed Monitor

	runStart := time.Now()
	var out io.Writer = stdout
	var file *logFile
	if o.output != "" {
		file = &logFile{pattern: o.output}
		if err := file.open(runStart); err != nil {
			fmt.Fprintf(stderr, "gohogs: --output %s: %v\n", o.output, err)
			return 1
		}
		defer file.Close()
		out = file
	}
	w := newSnapshotWriter(out, o)
	header := report.Header{Delay: o.delay, ViewMode: int(o.view), Run: report.NewRun(runStart), Seq: 1}
	if file != nil {
		if err := w.Line(header.String()); err != nil {
			return outputError(stderr, err)
		}
	}

	// The start-up lines, kept to begin every rotated file with.
	var startup []string
	emit := func(lines ...string) error {
		for _, l := range lines {
			startup = append(startup, l)
			if err := w.Line(l); err != nil {
				return err
			}
		}
		return nil
	}
	for _, d := range m.Devices() {
		var lines []string
		for _, a := range d.Addrs {
			lines = append(lines, "Adding local address: "+a.String())
		}
		if d.Err != nil {
			fmt.Fprintf(stderr, "Error opening handler for device %s: %v\n", d.Name, d.Err)
		} else {
			lines = append(lines, trace.LinkLine(uint32(d.Link)))
		}
		if err := emit(lines...); err != nil {
			return outputError(stderr, err)
		}
	}
	// newFile begins a file: the header, then the start-up lines.
	newFile := func() error {
		if err := w.Line(header.String()); err != nil {
			return err
		}
		for _, l := range startup {
			if err := w.Line(l); err != nil {
				return err
			}
		}
		return nil
	}

	// Refresh k cuts at start + k × delay (the first at once), and is taken
	// a moment after its cut so that the capture rings have handed over the
	// packets stamped before it: each block covers exactly one delay.
	start := m.Start()
	k := 0
	timer := time.NewTimer(0)
	defer timer.Stop()
	hup := make(chan os.Signal, 1)
	if file != nil {
		signal.Notify(hup, syscall.SIGHUP)
		defer signal.Stop(hup)
	}
	nextRotate := start.Add(o.rotate)
	refreshes := 0
	refresh := func(now time.Time) error {
		if file != nil && o.rotate > 0 && !now.Before(nextRotate) {
			// Between two refreshes: no block is ever split across files.
			for !now.Before(nextRotate) {
				nextRotate = nextRotate.Add(o.rotate)
			}
			if err := file.open(now); err != nil {
				return err
			}
			header.Seq++
			if err := newFile(); err != nil {
				return err
			}
		}
		s := m.RefreshAt(now)
		exporter.observe(s)
		refreshes++
		if o.gcPeriod > 0 && refreshes%o.gcPeriod == 0 && o.view.IsRate() {
			m.CollectIdle()
		}
		if o.bughunt {
			bughunt(stderr, s, m.Stats())
		}
		return w.Refresh(s)
	}
	var end time.Time
	if o.duration > 0 {
		// Rounded up to whole refreshes, so that every block covers
		// exactly one delay and rate × delay stays the bytes.
		n := (o.duration + o.delay - 1) / o.delay
		end = start.Add(n * o.delay)
	}
	for {
		cut := start.Add(time.Duration(k) * o.delay)
		last := !end.IsZero() && !cut.Before(end)
		if err := refresh(cut); err != nil {
			return outputError(stderr, err)
		}
		k++
		if last || (o.count > 0 && refreshes >= o.count) {
			return 0
		}
		next := start.Add(time.Duration(k) * o.delay)
		timer.Reset(time.Until(next.Add(gohogs.Settle)))
	wait:
		select {
		case <-timer.C:
		case err := <-m.CaptureErr():
			fmt.Fprintln(stderr, "gohogs: capture:", err)
			return 1
		case <-hup:
			// logrotate moved the file away: reopen the name; a new,
			// empty file begins like every file does.
			if err := file.reopen(); err != nil {
				return outputError(stderr, err)
			}
			if st, err := file.f.Stat(); err == nil && st.Size() == 0 {
				header.Seq++ // the new file is the run's next part
				if err := newFile(); err != nil {
					return outputError(stderr, err)
				}
			}
			goto wait
		case <-ctx.Done():
			return 0
		}
	}
}

// openMonitor selects the devices as nethogs does and opens a Monitor on
// them, printing nethogs's messages (and gohogs's clearer ones) when that
// fails. onError hears of interfaces that go down later.
func openMonitor(ctx context.Context, o *options, stderr io.Writer, onError func(iface string, err error)) (*gohogs.Monitor, bool) {
	devs, missing, err := selectDevices(o.devices, o.all)
	if err != nil {
		fmt.Fprintln(stderr, "gohogs:", err)
		return nil, false
	}
	for _, m := range missing {
		fmt.Fprintf(stderr, "gohogs: interface %q does not exist (ip link lists the interfaces)\n", m)
	}
	if len(devs) == 0 {
		if len(missing) == 0 {
			fmt.Fprintln(stderr, noDevices)
		}
		return nil, false
	}
	m, err := gohogs.Open(ctx, gohogs.Options{
		Interfaces:  devs,
		Promiscuous: o.promisc,
		Filter:      o.filter,
		Backend:     o.backend,
		UDP:         o.udp,
		PIDs:        o.pids,
		Interval:    o.delay,
		KeepIdle:    !o.view.IsRate(),
		NoConns:     o.trace && !o.json, // only --json and the screen show them
		// The command may change the host to see short-lived processes
		// (README, "What gohogs changes on the host").
		Resolver: procmap.Options{MountTracefs: true, RaisePriority: true, RemoveStaleInstances: true},
		OnError:  onError,
	})
	if oe := (*gohogs.OpenError)(nil); errors.As(err, &oe) {
		for _, d := range oe.Devices {
			fmt.Fprintf(stderr, "Error opening handler for device %s: %v\n", d.Name, d.Err)
		}
		fmt.Fprintln(stderr, "Error opening pcap handlers for all devices.")
		return nil, false
	} else if err != nil {
		fmt.Fprintln(stderr, err)
		return nil, false
	}
	return m, true
}

// outputError reports a failed write: quietly for a closed pipe, otherwise
// with one line.
func outputError(stderr io.Writer, err error) int {
	if errors.Is(err, syscall.EPIPE) {
		return 0
	}
	fmt.Fprintf(stderr, "gohogs: writing the trace: %v\n", err)
	return 1
}

// bughunt prints -x diagnostics on stderr, keeping stdout a clean trace.
func bughunt(stderr io.Writer, s *trace.Snapshot, st gohogs.Stats) {
	a := st.Accounting
	fmt.Fprintf(stderr, "gohogs: refresh %d elapsed %.3fs packets %d bytes %d ignored %d flows %d processes %d resolved %d failed %d queue-drops %d unknown-bytes %d\n",
		s.Seq, s.Elapsed.Seconds(), a.Packets, a.Bytes, a.Ignored, a.Flows, a.Processes, a.Resolved, a.Failed, a.Dropped, a.UnknownBytes)
	for _, cs := range st.Capture {
		fmt.Fprintf(stderr, "gohogs: capture %s packets %d bytes %d malformed %d kernel-drops %d\n",
			cs.Interface, cs.Packets, cs.Bytes, cs.Malformed, cs.KernelDrops)
	}
	fmt.Fprintf(stderr, "gohogs: resolver %+v\n", st.Resolver)
}
