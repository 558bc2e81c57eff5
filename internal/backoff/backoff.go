// Package backoff waits between polls of a condition that another goroutine
// will make true (a guard exiting, a protection being reset), giving up when
// a context ends.
package backoff

import (
	"context"
	"runtime"
	"time"
)

const (
	spins    = 16 // polls that only yield the processor
	maxSleep = time.Millisecond
)

// Backoff is the state of one wait loop. The zero value is ready to use.
type Backoff struct {
	n     int
	timer *time.Timer
}

// Wait pauses before the next poll: first by yielding, then by sleeping for
// doubling intervals up to a millisecond. It returns ctx.Err() as soon as ctx
// ends.
func (b *Backoff) Wait(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	b.n++
	if b.n <= spins {
		runtime.Gosched()
		return nil
	}
	d := min(time.Microsecond<<min(b.n-spins, 20), maxSleep)
	if b.timer == nil {
		b.timer = time.NewTimer(d)
	} else {
		b.timer.Reset(d)
	}
	select {
	case <-ctx.Done():
		b.timer.Stop()
		return ctx.Err()
	case <-b.timer.C:
		return nil
	}
}
