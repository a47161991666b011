package gohogs

import (
	"context"
	"errors"
	"fmt"
	"math"
	"testing"
	"testing/synctest"
	"time"
)

// The schedule runs in a synctest bubble: its clock moves only when every
// goroutine in the bubble waits, so the times below are exact.

// taking records the refreshes a schedule takes: each cut, as an offset
// from the start, and when it was taken.
type taking struct {
	start      time.Time
	cuts, when []time.Duration
	// pause, if set, is called in the refresh with its index and may
	// sleep (on the bubble's clock) to hold the schedule up.
	pause func(i int)
}

func (tk *taking) take(cut time.Time) error {
	tk.cuts = append(tk.cuts, cut.Sub(tk.start))
	tk.when = append(tk.when, time.Since(tk.start))
	if tk.pause != nil {
		tk.pause(len(tk.cuts) - 1)
	}
	return nil
}

// ms writes offsets in milliseconds, for short messages.
func ms(ds []time.Duration) string {
	s := "["
	for i, d := range ds {
		if i > 0 {
			s += " "
		}
		s += fmt.Sprint(d.Milliseconds())
	}
	return s + "]"
}

// runSchedule runs a schedule of interval 1 s from now until it ends (or
// fails the test after a minute of the bubble's time).
func runSchedule(t *testing.T, sched Schedule, tk *taking) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	tk.start = time.Now()
	err := newSchedule(tk.start, time.Second, sched).run(ctx, sched.Between, nil, nil, tk.take)
	if ctx.Err() != nil {
		t.Fatalf("the schedule did not end: cuts %s", ms(tk.cuts))
	}
	return err
}

func check(t *testing.T, tk *taking, cuts, when []time.Duration) {
	t.Helper()
	if ms(tk.cuts) != ms(cuts) || ms(tk.when) != ms(when) {
		t.Errorf("cuts %s taken at %s (ms), want cuts %s taken at %s", ms(tk.cuts), ms(tk.when), ms(cuts), ms(when))
	}
}

// secs lists offsets in seconds, to the millisecond.
func secs(s ...float64) []time.Duration {
	var ds []time.Duration
	for _, x := range s {
		ds = append(ds, time.Duration(math.Round(x*1000))*time.Millisecond)
	}
	return ds
}

const settle = float64(Settle) / float64(time.Second)

// due is when the refreshes cutting at s are taken: Settle after, but the
// first at once.
func due(s ...float64) []time.Duration {
	for i := range s {
		if s[i] > 0 {
			s[i] += settle
		}
	}
	return secs(s...)
}

// TestScheduleCount: refresh k cuts at k × Interval and is taken Settle
// later, the first at once; -c 4 is four refreshes.
func TestScheduleCount(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tk := &taking{}
		if err := runSchedule(t, Schedule{Count: 4}, tk); err != nil {
			t.Fatal(err)
		}
		check(t, tk, secs(0, 1, 2, 3), due(0, 1, 2, 3))
	})
}

// TestScheduleDuration: a duration is rounded up to whole Intervals and
// the refresh at its end is the last; the earlier of Count and Duration
// ends the run.
func TestScheduleDuration(t *testing.T) {
	for _, c := range []struct {
		sched Schedule
		cuts  []float64
	}{
		{Schedule{Duration: 3 * time.Second}, []float64{0, 1, 2, 3}},
		{Schedule{Duration: 2500 * time.Millisecond}, []float64{0, 1, 2, 3}},
		{Schedule{Duration: time.Nanosecond}, []float64{0, 1}},
		{Schedule{Duration: 3 * time.Second, Count: 2}, []float64{0, 1}},
		{Schedule{Duration: 2 * time.Second, Count: 9}, []float64{0, 1, 2}},
	} {
		t.Run(fmt.Sprintf("%v,count=%d", c.sched.Duration, c.sched.Count), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				tk := &taking{}
				if err := runSchedule(t, c.sched, tk); err != nil {
					t.Fatal(err)
				}
				check(t, tk, secs(c.cuts...), due(c.cuts...))
			})
		})
	}
}

// TestSchedulePause: refresh 1 is held up 3.5 s (the process stopped). By
// default the next refresh is taken at once at the latest cut due (4 s),
// covering the three missed Intervals, and the next one on time; with
// EveryCut the cuts at 2, 3 and 4 s are taken at once, one after the
// other. A pause over the end of a Duration ends at the end's cut.
func TestSchedulePause(t *testing.T) {
	pause := func(i int) {
		if i == 1 {
			time.Sleep(3500 * time.Millisecond)
		}
	}
	resumed := 1 + settle + 3.5
	for _, c := range []struct {
		name        string
		sched       Schedule
		cuts, taken []float64
	}{
		{"merge", Schedule{Count: 4}, []float64{0, 1, 4, 5}, []float64{0, 1 + settle, resumed, 5 + settle}},
		{"every cut", Schedule{Count: 6, EveryCut: true}, []float64{0, 1, 2, 3, 4, 5},
			[]float64{0, 1 + settle, resumed, resumed, resumed, 5 + settle}},
		{"past the end", Schedule{Duration: 3 * time.Second}, []float64{0, 1, 3}, []float64{0, 1 + settle, resumed}},
		{"every cut past the end", Schedule{Duration: 3 * time.Second, EveryCut: true}, []float64{0, 1, 2, 3},
			[]float64{0, 1 + settle, resumed, resumed}},
	} {
		t.Run(c.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				tk := &taking{pause: pause}
				if err := runSchedule(t, c.sched, tk); err != nil {
					t.Fatal(err)
				}
				check(t, tk, secs(c.cuts...), secs(c.taken...))
			})
		})
	}
}

// TestScheduleBetween: work sent on Between runs between two refreshes, at
// once, never during one; work that holds Run up (Ctrl-Z in the view) is a
// pause like any other; an error from it ends Run with that error.
func TestScheduleBetween(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		between := make(chan func() error)
		inRefresh := false
		var ran []time.Duration
		tk := &taking{}
		tk.pause = func(int) {
			inRefresh = true
			time.Sleep(100 * time.Millisecond) // a slow refresh
			inRefresh = false
		}
		errStop := errors.New("q")
		go func() {
			work := func(hold time.Duration, err error) func() error {
				return func() error {
					if inRefresh {
						t.Error("Between work ran during a refresh")
					}
					ran = append(ran, time.Since(tk.start))
					time.Sleep(hold)
					return err
				}
			}
			time.Sleep(500 * time.Millisecond)
			between <- work(0, nil)
			time.Sleep(1000 * time.Millisecond) // at 1.5 s
			between <- work(1700*time.Millisecond, nil)
			time.Sleep(4200 * time.Millisecond) // at 5.7 s
			between <- work(0, errStop)
		}()
		err := runSchedule(t, Schedule{Between: between}, tk)
		if !errors.Is(err, errStop) {
			t.Errorf("Run returned %v, want the Between function's error", err)
		}
		// The work held Run from 1.5 s to 3.2 s: the cuts at 2 and 3 s are
		// one refresh, at 3.2 s.
		check(t, tk, secs(0, 1, 3, 4, 5), secs(0, 1+settle, 3.2, 4+settle, 5+settle))
		if ms(ran) != ms(secs(0.5, 1.5, 5.7)) {
			t.Errorf("Between work ran at %s, want at 500 1500 5700", ms(ran))
		}
	})
}

// TestScheduleEnds: Run ends with nil when its context does, with
// failure's error when failed is closed, and with take's error.
func TestScheduleEnds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(2500*time.Millisecond, cancel)
		n := 0
		err := newSchedule(start, time.Second, Schedule{}).run(ctx, nil, nil, nil, func(time.Time) error { n++; return nil })
		if err != nil || n != 3 || time.Since(start) != 2500*time.Millisecond {
			t.Errorf("cancelled at 2.5 s: %v after %d refreshes, at %v", err, n, time.Since(start))
		}

		failed := make(chan struct{})
		errGone := errors.New("every interface failed")
		time.AfterFunc(1500*time.Millisecond, func() { close(failed) })
		start, n = time.Now(), 0
		err = newSchedule(start, time.Second, Schedule{}).run(context.Background(), nil, failed,
			func() error { return errGone }, func(time.Time) error { n++; return nil })
		if !errors.Is(err, errGone) || n != 2 || time.Since(start) != 1500*time.Millisecond {
			t.Errorf("failed at 1.5 s: %v after %d refreshes, at %v", err, n, time.Since(start))
		}

		errWrite := errors.New("write")
		n = 0
		err = newSchedule(time.Now(), time.Second, Schedule{}).run(context.Background(), nil, nil, nil,
			func(time.Time) error {
				if n++; n == 2 {
					return errWrite
				}
				return nil
			})
		if !errors.Is(err, errWrite) || n != 2 {
			t.Errorf("take failed: %v after %d refreshes", err, n)
		}
	})
}

// TestScheduleLongPause: a pause of a day at a 1 ms interval costs one
// refresh, not 86 million.
func TestScheduleLongPause(t *testing.T) {
	start := time.Unix(0, 0)
	s := newSchedule(start, time.Millisecond, Schedule{})
	if cut, _ := s.take(start); !cut.Equal(start) {
		t.Fatalf("first cut %v", cut)
	}
	now := start.Add(24 * time.Hour)
	cut, last := s.take(now)
	if want := now.Add(-Settle); !cut.Equal(want) || last {
		t.Errorf("after a day: cut %v (last %v), want %v", cut.Sub(start), last, want.Sub(start))
	}
	if d := s.due().Sub(now); d <= 0 || d > time.Millisecond {
		t.Errorf("next refresh due %v after now", d)
	}
}
