package main

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// TestWaitUntil: a wait ends at the change that makes the condition true,
// not before and not at a poll; at the limit; when the process exits; when
// the suite is interrupted.
func TestWaitUntil(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var c changes
		var n atomic.Int32
		go func() {
			for range 5 {
				time.Sleep(100 * time.Millisecond)
				n.Add(1)
				c.notify()
			}
		}()
		start := time.Now()
		err := waitUntil(context.Background(), &c, nil, time.Second, func() bool { return n.Load() >= 3 })
		if err != nil || time.Since(start) != 300*time.Millisecond {
			t.Errorf("waitUntil = %v after %v, want nil after 300ms", err, time.Since(start))
		}
		start = time.Now()
		err = waitUntil(context.Background(), &c, nil, time.Second, func() bool { return n.Load() >= 10 })
		if !errors.Is(err, errTimeout) || time.Since(start) != time.Second {
			t.Errorf("waitUntil = %v after %v, want errTimeout after 1s", err, time.Since(start))
		}
		exited := make(chan struct{})
		time.AfterFunc(50*time.Millisecond, func() { close(exited) })
		if err := waitUntil(context.Background(), &c, exited, time.Second, func() bool { return false }); !errors.Is(err, errExited) {
			t.Errorf("waitUntil after exit = %v, want errExited", err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		defer cancel()
		if err := waitUntil(ctx, &c, nil, time.Second, func() bool { return false }); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("waitUntil after interrupt = %v, want the context's error", err)
		}
	})
}

// TestOutputWait: a wait for a start-up line ends when the line is
// written; the output keeps the first 8 MiB only.
func TestOutputWait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		o := &output{}
		time.AfterFunc(70*time.Millisecond, func() { _, _ = o.Write([]byte("rea")) })
		time.AfterFunc(90*time.Millisecond, func() { _, _ = o.Write([]byte("dy\n")) })
		start := time.Now()
		if err := waitUntil(context.Background(), &o.changed, nil, time.Second, func() bool { return o.contains("ready\n") }); err != nil {
			t.Fatal(err)
		}
		if d := time.Since(start); d != 90*time.Millisecond {
			t.Errorf("ready seen after %v, want 90ms", d)
		}
	})
	o := &output{}
	big := make([]byte, 1<<20)
	for range 12 {
		if n, err := o.Write(big); n != len(big) || err != nil {
			t.Fatalf("Write = %d, %v", n, err)
		}
	}
	if got := len(o.String()); got != 9<<20 {
		t.Errorf("kept %d bytes, want 9 MiB (writes stop once 8 MiB are exceeded)", got)
	}
}

// TestPacer: unit n is due at start + n/rate; a late caller goes on at once.
func TestPacer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := newPacer(2000)
		p.wait(1000)
		if d := time.Since(p.start); d != 500*time.Millisecond {
			t.Errorf("unit 1000 at 2000/s after %v, want 500ms", d)
		}
		time.Sleep(time.Second)
		before := time.Now()
		p.wait(1500) // due at 750 ms, now is 1.5 s
		if d := time.Since(before); d != 0 {
			t.Errorf("a late unit waited %v", d)
		}
	})
}
