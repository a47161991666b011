package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
	"time"

	"github.com/gdamore/tcell/v2"

	"github.com/gohogs/gohogs"
	"github.com/gohogs/gohogs/internal/tui"
	"github.com/gohogs/gohogs/trace"
)

// interactive runs the full-screen view (gohogs without -t).
//
// One goroutine (this one) owns the model and the screen: it takes the
// refreshes on the Monitor's schedule (gohogs.Schedule, as trace mode does),
// and handles key and resize events between two refreshes the moment they
// arrive, redrawing at once. After a pause (Ctrl-Z, a stopped terminal) one
// refresh covers the missed delays rather than a burst of redraws. The
// terminal is restored on every way out: q, Ctrl-C (a key in raw mode),
// SIGINT/SIGTERM (ctx), -c/--duration, capture failing on every interface,
// and a panic here; Ctrl-Z gives it back while the job is stopped.
//
// The Monitor keeps idle processes as the starting view mode asks
// (KeepIdle for the total modes, as nethogs does): started in a rate mode,
// a process leaves the table 150 s after its last byte, so cycling with m
// into a total mode shows the totals of the processes still in the table,
// not of every process ever seen. Started with -v 1, 2 or 3, every process
// stays.
func interactive(ctx context.Context, o *options, stdout, stderr io.Writer) (code int) {
	_ = stdout // the screen is the terminal, not stdout
	// Interface errors arrive on capture goroutines while the screen is up:
	// they go to the status line, not to stderr under the screen.
	ifErrs := make(chan string, 16)
	m, ok := openMonitor(ctx, o, stderr, func(iface string, err error) {
		select {
		case ifErrs <- fmt.Sprintf("%s: %v", iface, err):
		default:
		}
	})
	if !ok {
		return 1
	}
	defer m.Close()

	var tdevs []tui.Device
	var openErrs []string
	for _, d := range m.Devices() {
		if d.Err != nil {
			openErrs = append(openErrs, fmt.Sprintf("Error opening handler for device %s: %v", d.Name, d.Err))
			continue
		}
		tdevs = append(tdevs, tui.Device{Name: d.Name, Addrs: d.Addrs})
	}

	model := tui.New(tui.Config{
		Version:  version,
		Devices:  tdevs,
		Mode:     o.view,
		BySent:   o.bySent,
		Cmdline:  o.cmdline,
		Basename: o.basename,
	})
	if len(openErrs) > 0 {
		model.SetStatus(openErrs[0])
	} else if line := fallbackText(m.Devices()); line != "" {
		model.SetStatus(line)
	} else if w := pidNSWarning(m); w != "" {
		model.SetStatus(w)
	} else if w := namesWarning(m); w != "" {
		model.SetStatus(w)
	}
	scr, err := tcell.NewScreen()
	if err == nil {
		err = scr.Init()
	}
	if err != nil {
		fmt.Fprintf(stderr, "gohogs: cannot start the interactive view: %v (trace mode, -t, needs no terminal)\n", err)
		return 1
	}
	return withTerminal(scr, stderr, func(fatal func(string)) int {
		return interactiveLoop(ctx, o, m, scr, model, ifErrs, fatal)
	})
}

// suspend stops gohogs as a shell job, as Ctrl-Z does outside raw mode: the
// terminal is given back first, and taken again when the job continues.
// While stopped nothing is read; the capture ring keeps what fits, and the
// first refresh after covers the whole pause.
func suspend(scr tcell.Screen) {
	if signal.Ignored(syscall.SIGTSTP) {
		return // started with job control off: nobody would continue us
	}
	cont := make(chan os.Signal, 1)
	signal.Notify(cont, syscall.SIGCONT)
	defer signal.Stop(cont)
	if err := scr.Suspend(); err != nil {
		return
	}
	// The whole job, as the terminal would signal it. The stop is not
	// synchronous (any thread may take the signal), so wait for SIGCONT
	// before taking the terminal back; a second at most, for a process
	// group the kernel will not stop (an orphaned one).
	syscall.Kill(0, syscall.SIGTSTP)
	t := time.NewTimer(time.Second)
	select {
	case <-cont:
	case <-t.C:
	}
	t.Stop()
	scr.Resume()
}

// withTerminal runs body with scr initialised and finishes scr (restoring
// the terminal) however body ends: returning, calling fatal (which restores
// the terminal first, then prints its message on stderr), or panicking (the
// panic and its stack are printed after the terminal is restored, and the
// status is 2).
func withTerminal(scr tcell.Screen, stderr io.Writer, body func(fatal func(string)) int) (code int) {
	finished := false
	restore := func() {
		if !finished {
			finished = true
			scr.Fini()
		}
	}
	defer restore()
	defer func() {
		if r := recover(); r != nil {
			restore()
			fmt.Fprintf(stderr, "gohogs: internal error in the interactive view: %v\n%s", r, debug.Stack())
			code = 2
		}
	}()
	return body(func(msg string) {
		restore()
		fmt.Fprintln(stderr, msg)
	})
}

// errQuit ends the view's Run: q, Ctrl-C, or the terminal gone.
var errQuit = errors.New("quit")

// interactiveLoop runs the view until it ends, and returns the exit status.
// fatal restores the terminal and prints a message.
func interactiveLoop(ctx context.Context, o *options, m *gohogs.Monitor, scr tcell.Screen, model *tui.Model,
	ifErrs <-chan string, fatal func(string)) int {
	events := make(chan tcell.Event, 64)
	quit := make(chan struct{})
	defer close(quit)
	go scr.ChannelEvents(events, quit) // closes events on quit or Fini

	draw := func() {
		model.Draw(scr)
		scr.Show()
	}
	draw()
	handle := func(ev tcell.Event) error {
		switch ev := ev.(type) {
		case *tcell.EventResize:
			scr.Sync()
			draw()
		case *tcell.EventKey:
			switch model.HandleKey(ev) {
			case tui.Quit:
				return errQuit
			case tui.Resync:
				scr.Sync()
			case tui.Suspend:
				suspend(scr) // a pause: the next refresh covers it
			}
			draw()
		}
		return nil
	}

	// Keys, resizes and interface errors are handled between two
	// refreshes, in Run's goroutine (this one), as they arrive.
	between := make(chan func() error)
	go func() {
		for {
			var f func() error
			select {
			case ev, ok := <-events:
				if !ok {
					f = func() error { return errQuit }
				} else {
					f = func() error { return handle(ev) }
				}
			case msg := <-ifErrs:
				f = func() error {
					model.SetStatus(msg)
					draw()
					return nil
				}
			case <-quit:
				return
			}
			select {
			case between <- f:
			case <-quit:
				return
			}
		}
	}()

	refreshes := 0
	err := m.Run(ctx, gohogs.Schedule{Duration: o.duration, Count: o.count, Between: between}, func(s *trace.Snapshot) error {
		model.Update(s)
		refreshes++
		if o.gcPeriod > 0 && refreshes%o.gcPeriod == 0 && o.view.IsRate() {
			m.CollectIdle()
		}
		draw()
		return nil
	})
	if err != nil && !errors.Is(err, errQuit) {
		fatal(err.Error()) // capture failed on every interface
		return 1
	}
	return 0
}
