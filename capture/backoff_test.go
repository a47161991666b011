package capture

import (
	"context"
	"errors"
	"slices"
	"testing"
	"testing/synctest"
	"time"
)

// TestRetryBackoff checks retry's schedule on synctest's clock: the first
// try after b.first, each wait twice the one before, capped at b.limit.
func TestRetryBackoff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		var at []time.Duration
		done, err := retry(context.Background(), reopenBackoff, func() (bool, error) {
			at = append(at, time.Since(start))
			return len(at) == 8, nil
		})
		if !done || err != nil {
			t.Fatalf("retry = %v, %v; want done", done, err)
		}
		ms := time.Millisecond
		// Waits of 100, 200, 400, 800, 1600, then 2000 ms.
		want := []time.Duration{100 * ms, 300 * ms, 700 * ms, 1500 * ms, 3100 * ms, 5100 * ms, 7100 * ms, 9100 * ms}
		if !slices.Equal(at, want) {
			t.Errorf("tries at %v, want %v", at, want)
		}
	})
}

// TestRetryStops checks that retry stops at the first error, and when its
// context ends, at once and without another try.
func TestRetryStops(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		boom := errors.New("boom")
		n := 0
		done, err := retry(context.Background(), resubscribeBackoff, func() (bool, error) {
			n++
			if n == 3 {
				return false, boom
			}
			return false, nil
		})
		if done || err != boom || n != 3 {
			t.Errorf("retry = %v, %v after %d tries; want the error of the third", done, err, n)
		}

		ctx, cancel := context.WithCancel(context.Background())
		start := time.Now()
		tries := 0
		res := make(chan bool)
		go func() {
			done, err := retry(ctx, resubscribeBackoff, func() (bool, error) { tries++; return false, nil })
			res <- done || err != nil
		}()
		time.Sleep(1600 * time.Millisecond) // tries at 100, 300, 700 and 1500 ms; the next is due at 3100
		synctest.Wait()
		cancel()
		if <-res {
			t.Error("retry reported done or an error after its context ended")
		}
		if tries != 4 || time.Since(start) != 1600*time.Millisecond {
			t.Errorf("%d tries, returned after %v; want 4 tries and a return at the cancel (1.6s)", tries, time.Since(start))
		}
	})
}
