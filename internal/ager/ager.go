// Package ager hands partially filled batches of retired objects over, and
// pushes reclamation forward, within a bounded time, with no goroutine
// living between ticks: a timer is armed when work becomes pending and
// re-armed by each tick for as long as work stays pending; each tick runs
// on the timer's own short-lived goroutine.
//
// A tick runs on the timer's goroutine, where no caller can receive a panic
// from a free function. The Ager recovers it and Rethrow re-panics it on
// the next goroutine that calls into the scheme (a Retire, Barrier or
// Close), so a panicking free function still reaches a caller; when
// several ticks panic before anyone calls in, each call raises one, the
// oldest first.
package ager

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// Ager is a lazily armed periodic tick. The zero value is disabled: Arm does
// nothing.
type Ager struct {
	armed  atomic.Bool
	period time.Duration
	tick   func() (more bool)

	mu      sync.Mutex
	timer   *time.Timer
	stopped bool

	panics  []any        // recovered from ticks, oldest first; guarded by mu
	npanics atomic.Int32 // len(panics), for Rethrow's fast check
	running atomic.Int32 // ticks begun and not ended (their panic stored)
}

// Init makes a tick every period while work is pending: tick runs once the
// period after Arm and again each period for as long as it reports more.
// A period of 0 disables the Ager. Init must be called before any other
// method, once.
func (a *Ager) Init(period time.Duration, tick func() (more bool)) {
	a.period, a.tick = period, tick
}

// Arm makes sure a tick will run, after at most one period. Call it after
// the work it must handle has been published, by any kind of store: Arm's
// swap is a full fence, so either the tick that is armed now (which clears
// armed before it looks) sees the work, or this Arm finds armed cleared and
// arms again. It costs one atomic swap: call it when work appears (a batch
// opens), not per object.
func (a *Ager) Arm() {
	if a.period == 0 || a.armed.Swap(true) {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.stopped {
		return
	}
	if a.timer == nil {
		a.timer = time.AfterFunc(a.period, a.fire)
	} else {
		a.timer.Reset(a.period)
	}
}

// fire is the timer's function. armed is cleared before the tick looks for
// work, so work published after the tick's look re-arms through Arm.
func (a *Ager) fire() {
	a.armed.Store(false)
	a.mu.Lock()
	stopped := a.stopped
	if !stopped {
		a.running.Add(1) // under mu, so that Wait after Stop sees it
	}
	a.mu.Unlock()
	if stopped {
		return
	}
	more := true
	defer func() {
		if v := recover(); v != nil {
			a.mu.Lock()
			a.panics = append(a.panics, v) // a later tick may panic before anyone calls in
			a.npanics.Add(1)
			a.mu.Unlock()
		}
		a.running.Add(-1)
		if more {
			a.Arm()
		}
	}()
	more = a.tick()
}

// Stop ends the ticks: none starts after Stop returns. A tick already
// running finishes (Stop does not wait for it, since a free function that
// the tick runs may itself call Stop, through Close).
func (a *Ager) Stop() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.stopped = true
	if a.timer != nil {
		a.timer.Stop()
	}
}

// Wait, called after Stop, waits until no tick is running, or until ctx is
// done, and reports whether no tick is running. A tick's panic is stored
// before the tick counts as ended, so Rethrow after a Wait that reported
// true raises the panic of a tick that was running when Stop returned.
// The scheme's locks are released while a panicking tick unwinds, before
// the panic is stored: a Close that waited for the tick's lock, and not
// for the tick, would miss it. Wait must not be called from a tick with
// a ctx that never ends: it would wait for itself.
func (a *Ager) Wait(ctx context.Context) bool {
	for i := 0; a.running.Load() != 0; i++ {
		if ctx.Err() != nil {
			return false
		}
		if i < 64 {
			runtime.Gosched()
		} else {
			time.Sleep(50 * time.Microsecond) // a free function that takes its time
		}
	}
	return true
}

// Rethrow re-panics, once, the oldest panic that a tick recovered and no
// Rethrow has raised yet, on the calling goroutine, with the original
// value, so that a caller that recognises its free function's panic still
// does; each panic reaches one caller, in the order the ticks met them. It
// costs one atomic load when there is none.
func (a *Ager) Rethrow() {
	if a.npanics.Load() != 0 {
		a.rethrow()
	}
}

func (a *Ager) rethrow() {
	a.mu.Lock()
	if len(a.panics) == 0 { // another Rethrow took it
		a.mu.Unlock()
		return
	}
	v := a.panics[0]
	a.panics[0] = nil
	a.panics = a.panics[1:]
	a.npanics.Add(-1)
	a.mu.Unlock()
	panic(v)
}
