package main

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"time"
)

// The suite waits for conditions (a start-up line, a number of refreshes),
// never for a guessed time: whatever a waiter watches says when it changed,
// and every wait has a limit.

var (
	errTimeout = errors.New("not within the time limit")
	errExited  = errors.New("the process exited")
)

// changes wakes whoever waits for something to change: each change closes
// the channel that next handed out before it.
type changes struct {
	mu sync.Mutex
	ch chan struct{}
}

// next is closed at the next change.
func (c *changes) next() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ch == nil {
		c.ch = make(chan struct{})
	}
	return c.ch
}

func (c *changes) notify() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ch != nil {
		close(c.ch)
		c.ch = nil
	}
}

// waitUntil waits until cond holds, looking again at every change of c, for
// at most limit. It returns errTimeout after limit, errExited when exited
// is closed first (the process that would make cond true has ended), and
// ctx's error when the suite is interrupted.
func waitUntil(ctx context.Context, c *changes, exited <-chan struct{}, limit time.Duration, cond func() bool) error {
	timer := time.NewTimer(limit)
	defer timer.Stop()
	for {
		next := c.next() // before cond: a change in between is not missed
		if cond() {
			return nil
		}
		select {
		case <-next:
		case <-exited:
			if cond() {
				return nil
			}
			return errExited
		case <-timer.C:
			return errTimeout
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// output is a child process's stdout or stderr, kept in memory (the first
// 8 MiB), that a waiter can watch.
type output struct {
	mu      sync.Mutex
	b       bytes.Buffer
	changed changes
}

func (o *output) Write(p []byte) (int, error) {
	o.mu.Lock()
	if o.b.Len() <= 8<<20 {
		o.b.Write(p)
	}
	o.mu.Unlock()
	o.changed.notify()
	return len(p), nil
}

func (o *output) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.b.String()
}

// contains says whether the output holds s.
func (o *output) contains(s string) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return bytes.Contains(o.b.Bytes(), []byte(s))
}
