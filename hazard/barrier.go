package hazard

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"runtime"
	"time"
)

// ErrProtected is returned (wrapped, with counts) by Close when retired
// objects are still protected.
var ErrProtected = errors.New("retired objects still protected")

// ErrBusy is returned (wrapped, with counts) by Close when retired objects
// are held by a reclamation that another goroutine is running (a scan of
// Retire or Flush, a Barrier, or the aging timer) and that did not finish
// while Close waited for it, or by the reclamation whose free function
// called Close.
var ErrBusy = errors.New("retired objects held by a reclamation in progress")

// closeWait is how long Close waits for a reclamation that another
// goroutine is running before it gives up with ErrBusy.
const closeWait = time.Second

// Barrier returns once every object retired through d before the call has
// been reclaimed: each free function has returned, and is synchronized
// before Barrier returns. It waits for the hazard pointers that protect
// those objects to be reset, and for the reclamations that other
// goroutines are running on the lists that hold them to finish (a scan of
// Retire or Flush, another Barrier or Close, the aging timer's tick; the
// free functions they run may be of objects retired after the call);
// each of these waits ends when ctx ends, and Barrier then returns
// ctx.Err(): what was not reclaimed stays pending. Only waits for pinned
// work (a processor's batch, a scan judging its batches: microseconds)
// and the free functions that Barrier runs itself do not watch ctx.
// Barrier does not wait for objects retired after the call began to be
// reclaimed.
//
// A goroutine that calls Barrier while it protects a retired object
// itself, through a Pointer it has not reset, waits for itself: Barrier
// returns ctx.Err() when ctx ends (never, with context.Background()). A
// Pointer does not record its goroutine, so Barrier cannot tell this from a
// slow reader; reset or release the goroutine's own Pointers first.
//
// A panic from a free function propagates out of Barrier; the objects not
// yet reclaimed stay pending. Barrier must not be called from a free
// function of d: it would wait, until ctx ends, for the scan that runs it.
// It panics if ctx is nil.
func (d *Domain) Barrier(ctx context.Context) error {
	if ctx == nil {
		panic("hazard: Barrier with a nil context")
	}
	d.mustBeMade("Barrier")
	d.aging.Rethrow()
	if err := d.flushShards(ctx); err != nil {
		return err
	}
	last := d.seq.Load() // every object retired before the call is tagged <= last
	p := patience{ctx: ctx}
	for {
		old, err := d.sweepAll(&p, last)
		if err != nil || !old {
			return err
		}
		if err := p.wait(); err != nil {
			return err
		}
	}
}

// sweepAll takes the right to take lists, then the stale list if there is
// one and the old list (which together hold every sealed batch that no
// scan of the current list holds, including every batch sealed before the
// call), sweeps them and puts back what stays pending. It reports whether
// what it put back holds an object tagged at or before tag. Every wait
// (for the right, and for each list's users) lasts as long as p allows;
// when one ends early, sweepAll still sweeps what it could take and
// returns the error. Retire goes on scanning the current list meanwhile.
func (d *Domain) sweepAll(p *patience, tag uint64) (old bool, err error) {
	if err := d.sealed.lockTaker(p); err != nil {
		return false, err
	}
	defer d.sealed.unlockTaker() // also when a free function panics
	list, err := d.sealed.takeStale(p)
	old = d.sweepBack(list, tag)
	if err != nil {
		return old, err
	}
	list, err = d.sealed.takeOld(p)
	old = d.sweepBack(list, tag) || old
	return old, err
}

// Close shuts d down: Acquire and Retire panic from the moment it begins
// (a call that races with Close may also get through, a race in the
// caller's program), except in a free function (of any Domain) while a
// reclamation of d runs, so that the free functions d runs may still call
// them after Close returned; and every
// pending object that no hazard pointer protects is reclaimed, its free
// function synchronized before Close returns. If some are still protected,
// Close returns an error wrapping ErrProtected that says how many; reset
// those hazard pointers and call Close again (or Flush) to reclaim them.
// Every retired object is thus reclaimed exactly once, by Close at the
// latest. Closing a closed, drained Domain returns nil. Flush and Barrier
// keep working after Close.
//
// Close has no context, so it waits only for what cannot be held up
// indefinitely by code outside this package, with one bounded exception.
// It waits for the processors' batches (held by a pinned goroutine, a few
// microseconds at a time: a flush of them, or a Retire), and
// it waits up to about a second for reclamations that other goroutines are
// running on objects it must reclaim (a scan of Retire or Flush, a
// Barrier's sweep, the aging timer's tick): their free functions are the
// caller's code and may never return. (That second is per round: Close
// reclaims in rounds as long as free functions run, since they may retire
// more, and stops waiting once a round has given up.) Past that, or at once when Close is
// called from a free function (of any Domain), it reclaims what it can
// reach and returns an error wrapping ErrBusy that says how many objects
// are still pending; call Close again once those reclamations have
// finished. Close never waits for a Barrier that waits for a hazard
// pointer.
//
// Close may be called from a free function. It cannot finish there, since
// the reclamation that runs the free function holds objects until the free
// function returns: it closes d, reclaims what it can reach without
// waiting, and returns an error wrapping ErrBusy unless nothing else is
// pending. The enclosing Retire, Flush, Barrier or Close goes on
// reclaiming; a later Close, outside any free function, returns nil once
// everything is reclaimed.
//
// A panic from a free function propagates out of Close (also one that the
// aging timer met in a tick that Close waited for); call Close again to
// reclaim the rest. Close panics if d is Default().
func (d *Domain) Close() error {
	d.mustBeMade("Close")
	if d.isDefault {
		panic("hazard: Close of the Default domain: it is shared by the whole process and must never be closed; close only Domains made with New")
	}
	d.aging.Rethrow()
	d.state.Or(closedBit)
	d.aging.Stop()
	d.state.Add(drainUnit)
	defer d.state.Add(^uint64(drainUnit - 1))
	wait := !calledFromFree()
	busy := false
	for {
		before := d.reclaimed.Load()
		busy = d.closeRound(wait && !busy) || busy
		if d.reclaimed.Load() == before {
			break // no free function ran, so none retired more
		}
	}
	// A tick stores its free function's panic after it has let go of the
	// lists that the rounds waited for: wait for the tick itself, so that
	// the panic comes out of this Close.
	if !d.waitTick(wait && !busy) {
		busy = true
	}
	d.aging.Rethrow()
	n := d.pendingNow()
	switch {
	case n == 0:
		return nil
	case busy:
		return fmt.Errorf("hazard: Close: %w: %d object(s) still pending, some held by a reclamation that another goroutine is running or that called Close from a free function; call Close again once it has finished",
			ErrBusy, n)
	default:
		return fmt.Errorf("hazard: Close: %w: %d object(s) protected by %d hazard pointer(s); reset them and call Close again",
			ErrProtected, n, d.protecting())
	}
}

// waitTick waits up to closeWait (if wait) for an aging tick that is
// running to end, and reports whether none is running.
func (d *Domain) waitTick(wait bool) bool {
	ctx, cancel := context.WithTimeout(context.Background(), closeWait)
	if !wait {
		cancel()
	}
	defer cancel()
	return d.aging.Wait(ctx)
}

// closeRound hands every open batch over and sweeps every sealed batch it
// can take, waiting up to closeWait (if wait) for the right to take lists
// and for their users. It reports whether it gave up waiting; it then also
// scans the current list, which whoever it waited for does not hold, and
// the stale list, as Flush does.
func (d *Domain) closeRound(wait bool) (busy bool) {
	var p patience
	if wait {
		ctx, cancel := context.WithTimeout(context.Background(), closeWait)
		defer cancel()
		p.ctx = ctx
	}
	d.flushShards(context.Background())
	if _, err := d.sweepAll(&p, 0); err != nil {
		d.scan(true)
		if d.sealed.stale.Load() != 0 {
			d.sweepStale()
		}
		return true
	}
	return false
}

// sweepFunc is the name of the function whose frame is on the stack of a
// goroutine that runs a free function.
var sweepFunc = reflect.TypeFor[Domain]().PkgPath() + ".(*Domain).sweep"

// calledFromFree reports whether the calling goroutine is running a free
// function of a Domain: whether (*Domain).sweep is on its stack.
func calledFromFree() bool {
	var pcs [32]uintptr
	for skip := 2; ; {
		n := runtime.Callers(skip, pcs[:])
		frames := runtime.CallersFrames(pcs[:n])
		for {
			f, more := frames.Next()
			if f.Function == sweepFunc {
				return true
			}
			if !more {
				break
			}
		}
		if n < len(pcs) {
			return false
		}
		skip += n
	}
}

// protecting counts the slots that currently protect an object.
func (d *Domain) protecting() int {
	n := 0
	for s := range d.slots.All() {
		if s.Value.addr.Load() != 0 {
			n++
		}
	}
	return n
}
