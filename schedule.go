package gohogs

import (
	"context"
	"time"
)

// Settle is how long after a refresh's cut time Run takes it, so that the
// capture rings have handed over the packets stamped before the cut.
const Settle = 50 * time.Millisecond

// Schedule says when Run (or Refreshes) ends and what it does between two
// refreshes. Its zero value runs until the context ends.
//
// Refresh k cuts at Start + k × Interval and is taken Settle after its cut,
// so that it holds exactly the packets stamped since the previous cut; the
// first (k = 0, covering nothing, as nethogs's first refresh) is taken at
// once.
//
// A pause (the process stopped with Ctrl-Z or SIGSTOP, or fn or a Between
// function slower than an Interval) leaves cuts behind. By default Run then
// takes one refresh at once, at the latest cut that is due: it covers every
// Interval since the previous refresh (its Elapsed says how long), counts
// once towards Count, and the refreshes go on at their usual cut times.
// With EveryCut, Run takes each missed cut instead, one after the other
// without waiting, so that every refresh covers exactly one Interval.
type Schedule struct {
	// Duration, if positive, ends Run after the refresh that cuts at
	// Start + Duration rounded up to a whole number of Intervals, so that
	// the last refresh covers a whole Interval too.
	Duration time.Duration
	// Count, if positive, ends Run after that many refreshes.
	Count int
	// EveryCut takes every cut left behind by a pause, each covering one
	// Interval, rather than one refresh covering them all. A reader that
	// counts rate × interval per refresh, as nethogs's trace format
	// makes its readers do, needs it.
	EveryCut bool
	// Between, if set, carries work to do in Run's goroutine between two
	// refreshes, as it arrives: a key press, a signal to reopen a log
	// file. Run waits on it as well as on the clock, so the work never
	// runs during fn. An error from a function ends Run with that error.
	Between <-chan func() error
}

// schedule is a Schedule at work: which cut to take, and when.
type schedule struct {
	start    time.Time
	interval time.Duration
	end      int // index of the last cut, or -1 without a Duration
	count    int // refreshes to take, or 0
	everyCut bool
	k        int // index of the next cut
	taken    int // refreshes taken
	// atCut, if set, is called at the time of each cut (before the
	// refresh Settle later): what the kernel counted (the ebpf backend)
	// is taken out then, so the cut is exact to the timer's jitter.
	atCut     func(cut time.Time)
	cutCalled int // the last cut index atCut was called for
}

func newSchedule(start time.Time, interval time.Duration, s Schedule) *schedule {
	sc := &schedule{start: start, interval: interval, end: -1, count: s.Count, everyCut: s.EveryCut}
	if s.Duration > 0 {
		sc.end = int((s.Duration + interval - 1) / interval)
	}
	return sc
}

func (s *schedule) cut(k int) time.Time { return s.start.Add(time.Duration(k) * s.interval) }

// due is when the next refresh is to be taken: Settle after its cut, but
// the first at once. That one covers nothing: taken later it would hold,
// with an Elapsed of 0, the packets stamped after the start that reached
// the Accountant before it.
func (s *schedule) due() time.Time {
	if s.k == 0 {
		return s.start
	}
	return s.cut(s.k).Add(Settle)
}

// next is when run wakes up next: at the next cut if atCut has to be
// called for it, else when the refresh is due.
func (s *schedule) next() (at time.Time, cut bool) {
	if s.atCut != nil && s.k > 0 && s.cutCalled < s.k {
		return s.cut(s.k), true
	}
	return s.due(), false
}

// take returns the cut of the refresh to take at now (not before due) and
// whether it is the last one, and moves on to the next.
func (s *schedule) take(now time.Time) (cut time.Time, last bool) {
	if !s.everyCut {
		// The latest cut due by now, but never past the end.
		if j := int(now.Sub(s.start.Add(Settle)) / s.interval); j > s.k {
			s.k = j
		}
		if s.end >= 0 && s.k > s.end {
			s.k = s.end
		}
	}
	cut = s.cut(s.k)
	s.taken++
	last = s.k == s.end || (s.count > 0 && s.taken >= s.count)
	s.k++
	return cut, last
}

// run takes the refreshes with take, each when it is due, until the
// schedule ends or ctx does (nil), take or a Between function fails (its
// error), or failed is closed (failure's error).
func (s *schedule) run(ctx context.Context, between <-chan func() error, failed <-chan struct{}, failure func() error,
	take func(cut time.Time) error) error {
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		// Always through the select, even when the refresh is overdue:
		// a context that ended, a failure or waiting work is seen between
		// two refreshes of a burst too.
		at, atCut := s.next()
		timer.Reset(max(time.Until(at), 0))
	wait:
		select {
		case <-timer.C:
		case f := <-between:
			if err := f(); err != nil {
				return err
			}
			if time.Until(at) > 0 {
				goto wait
			}
		case <-failed:
			return failure()
		case <-ctx.Done():
			return nil
		}
		if atCut {
			s.cutCalled = s.k
			s.atCut(s.cut(s.k))
			continue
		}
		cut, last := s.take(time.Now())
		if err := take(cut); err != nil {
			return err
		}
		if last {
			return nil
		}
	}
}
