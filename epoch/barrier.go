package epoch

import (
	"context"
	"errors"
	"fmt"
	"math"
	"runtime"

	"github.com/go-reclaim/reclaim/internal/backoff"
)

// ErrGuardsOpen is returned (wrapped, with the count) by Close when guards
// are still open.
var ErrGuardsOpen = errors.New("guards still open")

// Barrier returns once every object retired through c before the call has
// been reclaimed: each of their free functions has returned, and is
// synchronized before Barrier returns. It waits for the guards that could
// still see them to exit, so calling it from inside a guard of c waits on
// itself until ctx ends. It returns ctx.Err() if ctx ends first; the objects
// not yet reclaimed then stay pending, and nothing is lost.
//
// A panic from a free function propagates out of Barrier; the objects not
// yet reclaimed stay pending. Barrier must not be called from a free
// function.
func (c *Collector) Barrier(ctx context.Context) error {
	if err := c.flushAll(ctx); err != nil {
		return err
	}
	var w backoff.Backoff
	for !c.reclaiming.CompareAndSwap(false, true) {
		if err := w.Wait(ctx); err != nil {
			return err
		}
	}
	defer c.reclaiming.Store(false)
	list := c.sealed.TakeAll()
	for w = (backoff.Backoff{}); ; {
		e := c.epoch.Load()
		kept := c.reclaimList(list, e)
		if kept.Head() == nil && c.reclaimOrphans(e) == 0 {
			return nil
		}
		err := ctx.Err()
		if err == nil && !c.tryAdvance() {
			err = w.Wait(ctx)
		}
		if err != nil {
			kept.PushTo(&c.sealed)
			return err
		}
		list = kept.Head()
	}
}

// flushAll has every slot hand its open batch to the collector: idle slots
// are flushed here, pinned ones flush themselves when their guard exits or
// refreshes.
func (c *Collector) flushAll(ctx context.Context) error {
	req := c.flushReq.Add(1)
	for s := range c.slots.All() {
		var w backoff.Backoff
		for !c.flushIdle(s, req) {
			if err := w.Wait(ctx); err != nil {
				return err
			}
		}
	}
	return nil
}

// flushIdle makes sure p has honoured flush request req. If p has not, and
// no guard holds it, it takes the slot (state collecting) and flushes it. It
// reports false if p is pinned and has not flushed yet.
func (c *Collector) flushIdle(s *slot, req uint64) bool {
	p := &s.Value
	if p.flushed.Load() >= req {
		return true
	}
	if !p.word.CompareAndSwap(0, collecting) {
		return false
	}
	if p.flushed.Load() < req {
		c.flush(s, req)
	}
	p.word.Store(0)
	return true
}

// Close shuts c down: Enter and Register panic from now on, and every
// pending object is reclaimed. Free functions that Close runs may still
// Enter and Retire; Close reclaims what they retire too.
//
// If guards are still open, Close reclaims only what is safe (objects whose
// grace period is over) and returns an error wrapping ErrGuardsOpen that
// says how many guards are open and how many objects stay pending. Close may
// be called again once those guards have exited; it then reclaims the rest.
// Every retired object is thus reclaimed exactly once, by Close at the
// latest. Closing a closed, drained Collector returns nil.
//
// A panic from a free function propagates out of Close; call Close again to
// reclaim the rest.
func (c *Collector) Close() error {
	c.state.Or(closedBit)
	c.state.Add(drainUnit)
	defer c.state.Add(^uint64(drainUnit - 1))
	for !c.reclaiming.CompareAndSwap(false, true) {
		runtime.Gosched()
	}
	defer c.reclaiming.Store(false)
	for {
		req := c.flushReq.Add(1)
		for s := range c.slots.All() {
			c.flushIdle(s, req)
		}
		list := c.sealed.TakeAll()
		// Every object in list was retired before this scan. A guard that
		// could hold one and is still open is pinned now.
		if open := c.openGuards(); open > 0 {
			e := c.epoch.Load()
			kept := c.reclaimList(list, e)
			kept.PushTo(&c.sealed)
			c.reclaimOrphans(e)
			return fmt.Errorf("epoch: Close: %w: %d guard(s) open; %d retired object(s) stay pending until they exit and Close is called again",
				ErrGuardsOpen, open, c.pending())
		}
		c.reclaimOrphans(math.MaxUint64)
		if list == nil {
			return nil
		}
		kept := c.reclaimList(list, math.MaxUint64)
		kept.PushTo(&c.sealed) // empty: every batch has expired
	}
}

func (c *Collector) openGuards() int {
	n := 0
	for s := range c.slots.All() {
		if pinnedEpoch(s.Value.word.Load()) != 0 {
			n++
		}
	}
	return n
}

// pending is retired minus reclaimed, read in the order that keeps it from
// going negative.
func (c *Collector) pending() uint64 {
	reclaimed := c.reclaimed.Load()
	return c.retired.Load() - reclaimed
}
