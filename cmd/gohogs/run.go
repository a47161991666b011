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
	if o.man || o.completion != "" {
		return writeDocs(o, stdout, stderr)
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

// monitor runs trace mode (and --json, and the exporter) until the refresh
// count, the duration or a signal ends it, on the Monitor's schedule with
// every cut taken: each block covers exactly one delay, even after a pause,
// so that a reader's rate × delay is the bytes.
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
	// begin writes what every file begins with: the header (not on
	// stdout), then the start-up lines.
	begin := func() error {
		if file != nil {
			if err := w.Line(header.String()); err != nil {
				return err
			}
		}
		return writeStartup(w, m.Devices())
	}
	for _, d := range m.Devices() {
		if d.Err != nil {
			fmt.Fprintf(stderr, "Error opening handler for device %s: %v\n", d.Name, d.Err)
		}
	}
	fallbackLine(stderr, m.Devices())
	if err := begin(); err != nil {
		return outputError(stderr, err)
	}

	nextRotate := m.Start().Add(o.rotate)
	refreshes := 0
	refresh := func(s *trace.Snapshot) error {
		if file != nil && o.rotate > 0 && !s.Time.Before(nextRotate) {
			// Between two refreshes: no block is ever split across files.
			for !s.Time.Before(nextRotate) {
				nextRotate = nextRotate.Add(o.rotate)
			}
			if err := file.open(s.Time); err != nil {
				return err
			}
			header.Seq++
			if err := begin(); err != nil {
				return err
			}
		}
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
	between := make(chan func() error)
	if file != nil {
		// SIGHUP: logrotate moved the file away. Reopen the name between two
		// refreshes; a new, empty file begins like every file does.
		hup := make(chan os.Signal, 1)
		signal.Notify(hup, syscall.SIGHUP)
		defer signal.Stop(hup)
		reopen := func() error {
			if err := file.reopen(); err != nil {
				return err
			}
			if st, err := file.f.Stat(); err == nil && st.Size() == 0 {
				header.Seq++ // the new file is the run's next part
				return begin()
			}
			return nil
		}
		done := make(chan struct{})
		defer close(done)
		go func() {
			for {
				select {
				case <-hup:
				case <-done:
					return
				}
				select {
				case between <- reopen:
				case <-done:
					return
				}
			}
		}()
	}
	err = m.Run(ctx, gohogs.Schedule{Duration: o.duration, Count: o.count, EveryCut: true, Between: between}, refresh)
	if o.bughunt {
		writeAccounting(stderr, "", m.Stats().Accounting.Totals)
	}
	if cerr := m.Err(); cerr != nil && err == cerr {
		fmt.Fprintln(stderr, err)
		return 1
	}
	if err != nil {
		return outputError(stderr, err)
	}
	return 0
}

// writeStartup writes nethogs's start-up lines: for each device its local
// addresses, then (if it opened) its link line. The JSON lines have none.
func writeStartup(w snapshotWriter, devices []gohogs.Device) error {
	tw, ok := w.(*trace.Writer)
	if !ok {
		return nil
	}
	for _, d := range devices {
		addrs := make([]string, len(d.Addrs))
		for i, a := range d.Addrs {
			addrs[i] = a.String()
		}
		if d.Err == nil {
			if err := tw.StartupLines(addrs, uint32(d.Link)); err != nil {
				return err
			}
			continue
		}
		// nethogs lists a device's addresses before trying to open it.
		for _, a := range addrs {
			if err := tw.Line("Adding local address: " + a); err != nil {
				return err
			}
		}
	}
	return nil
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
		// Names for the connections shown (names.go).
		RemoteNames: !(o.trace && !o.json) && !o.noNames,
		// The command may change the host to see short-lived processes
		// (README, "What gohogs changes on the host").
		Resolver: procmap.Options{MountTracefs: true, RaisePriority: true, RemoveStaleInstances: true, ContainerNames: true, ProcRoot: o.procRoot},
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
	if w := pidNSWarning(m); w != "" {
		fmt.Fprintln(stderr, w)
	}
	if w := namesWarning(m); w != "" {
		fmt.Fprintln(stderr, w)
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
		fmt.Fprintf(stderr, "gohogs: capture %s packets %d bytes %d malformed %d kernel-drops %d map-full %d events-lost %d\n",
			cs.Interface, cs.Packets, cs.Bytes, cs.Malformed, cs.KernelDrops, cs.MapFull, cs.EventsLost)
	}
	fmt.Fprintf(stderr, "gohogs: resolver %+v\n", st.Resolver)
	bughuntNames(stderr, st.Names)
	writeAccounting(stderr, fmt.Sprintf("refresh %d ", s.Seq), s.Accounting)
}
