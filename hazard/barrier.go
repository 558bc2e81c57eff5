package hazard

import (
	"context"
	"errors"
	"fmt"

	"github.com/go-reclaim/reclaim/internal/backoff"
)

// ErrProtected is returned (wrapped, with counts) by Close when retired
// objects are still protected.
var ErrProtected = errors.New("retired objects still protected")

// Barrier returns once every object retired through d before the call has
// been reclaimed: each free function has returned, and is synchronized
// before Barrier returns. It waits for the hazard pointers that protect
// those objects to be reset, so it returns ctx.Err() if one stays set until
// ctx ends; what was not reclaimed then stays pending.
//
// A panic from a free function propagates out of Barrier; the objects not
// yet reclaimed stay pending. Barrier must not be called from a free
// function.
func (d *Domain) Barrier(ctx context.Context) error {
	d.flushShards()
	last := d.seq.Load() // every object retired before the call is tagged <= last
	var w backoff.Backoff
	for d.sweepAll(last) {
		if err := w.Wait(ctx); err != nil {
			return err
		}
	}
	return nil
}

// sweepAll sweeps every sealed batch that no scan holds, which includes
// every batch sealed before the call, and puts back what stays pending. It
// reports whether what it put back holds an object tagged at or before tag.
// Retire goes on scanning the other list meanwhile.
func (d *Domain) sweepAll(tag uint64) bool {
	d.barrierMu.Lock()
	defer d.barrierMu.Unlock()
	kept := d.sweep(d.sealed.takeOld())
	old := false
	for b := kept.Head(); b != nil; b = b.Next() {
		old = old || b.Epoch <= tag
	}
	d.sealed.pushList(kept)
	return old
}

// Close shuts d down: Acquire and Retire panic once it has returned (free
// functions that Close runs may still call them; so may other goroutines
// while Close runs, which is a race in the caller's program), and every
// pending object that no hazard pointer protects is reclaimed. If some are
// still protected, Close returns an error wrapping ErrProtected that says
// how many; reset those hazard pointers and call Close again to reclaim
// them. Every retired object is thus reclaimed exactly once, by Close at the
// latest. Closing a closed, drained Domain returns nil.
//
// A panic from a free function propagates out of Close; call Close again to
// reclaim the rest.
func (d *Domain) Close() error {
	d.state.Or(closedBit)
	d.state.Add(drainUnit)
	defer d.state.Add(^uint64(drainUnit - 1))
	for {
		before := d.reclaimed.Load()
		d.flushShards()
		d.sweepAll(0)
		if d.reclaimed.Load() == before {
			break // no free function ran, so none retired more
		}
	}
	if n := d.pending.Load(); n > 0 {
		return fmt.Errorf("hazard: Close: %w: %d object(s) protected by %d hazard pointer(s); reset them and call Close again",
			ErrProtected, n, d.protecting())
	}
	return nil
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
