package capture

import (
	"context"
	"time"
)

// backoff is how long retry waits between tries: first, then twice the
// previous wait, never more than limit.
type backoff struct {
	first, limit time.Duration
}

// Backoffs of the two things that are retried.
var (
	reopenBackoff      = backoff{first: 100 * time.Millisecond, limit: 2 * time.Second} // an interface that is down or missing
	resubscribeBackoff = backoff{first: 100 * time.Millisecond, limit: 5 * time.Second} // the address notifications
)

// retry calls try after each wait of b until try is done or fails, or ctx
// ends. It returns done true when try was done, try's error when it failed,
// and false and nil when ctx ended first.
func retry(ctx context.Context, b backoff, try func() (done bool, err error)) (bool, error) {
	wait := b.first
	t := time.NewTimer(wait)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return false, nil
		case <-t.C:
		}
		if done, err := try(); done || err != nil {
			return done, err
		}
		wait = min(2*wait, b.limit)
		t.Reset(wait)
	}
}
