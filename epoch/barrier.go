package epoch

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"time"

	"github.com/go-reclaim/reclaim/internal/backoff"
	"github.com/go-reclaim/reclaim/internal/fence"
)

// ErrGuardsOpen is returned (wrapped, with the count) by Close when guards
// are still open.
var ErrGuardsOpen = errors.New("guards still open")

// Barrier returns once every object retired through c before the call has
// been reclaimed: each of their free functions has returned, and is
// synchronized before Barrier returns. It waits for every guard open at the
// call to exit or Refresh (only a slot's holder can hand over its open
// batch), and then, in the robust mode, for the guards that can still reach
// those objects, and for other goroutines' Pool seals that are running
// OnReclaim on nodes they took from other slots (so an OnReclaim must not
// wait for the goroutine that calls Barrier). It returns ctx.Err() if ctx
// ends first; the
// objects not yet reclaimed then stay pending, and nothing is lost. Every
// wait in Barrier (for a guard to exit, for the epoch to advance, for
// another goroutine's sweep to finish) ends when ctx does.
//
// Barrier must not be called inside a guard of c on the same goroutine, nor
// from a free function: it would wait for itself. From a free function it
// panics (on amd64 and arm64, where goroutines can be told apart cheaply);
// inside one's own guard it waits until ctx ends, or, with
// WithGuardTracking, panics (and so does Barrier on a goroutine that
// reuses the id of one that exited with a guard of c open, a guard that
// Barrier would otherwise wait for until ctx ends).
//
// A panic from a free function propagates out of Barrier; the objects not
// yet reclaimed stay pending. Barrier panics on a nil ctx.
func (c *Collector) Barrier(ctx context.Context) error {
	if ctx == nil {
		panic("epoch: Barrier with a nil context")
	}
	c.mustBeMade("Barrier")
	c.ager.Rethrow()
	c.checkNotSweeping("Barrier")
	if c.tracking {
		c.checkNotInGuard()
	}
	if err := c.flushAll(ctx); err != nil {
		return err
	}
	// Every object retired before the call is now in a sealed or orphaned
	// batch tagged at most the epoch read here. In the classic mode two
	// advances later all of them have expired; in the robust mode a scan
	// frees each once no guard's reservation reaches it.
	flushed := c.epoch.Load()
	var w backoff.Backoff
	for {
		if c.robust || c.epoch.Load() >= flushed+2 {
			if c.reclaiming.CompareAndSwap(false, true) && c.sweptPast(c.sweepAll(), flushed) {
				return c.awaitStealing(ctx)
			}
		} else if c.tryAdvance(true) {
			continue
		}
		if err := w.Wait(ctx); err != nil {
			return err
		}
	}
}

// awaitStealing waits until no robust seal holds batches it took from
// other slots or the orphans without having reclaimed them (see
// judgeStranded): one it took before Barrier's sweep may hold objects
// retired before the call, whose free functions must have returned when
// Barrier does. Seals that find Barrier counted in c.barriers take
// nothing, so the wait ends once those under way have reclaimed what they
// took.
func (c *Collector) awaitStealing(ctx context.Context) error {
	c.barriers.Add(1)
	defer c.barriers.Add(-1)
	var w backoff.Backoff
	for c.stealing.Load() != 0 {
		if err := w.Wait(ctx); err != nil {
			return err
		}
	}
	return nil
}

// sweptPast reports whether a sweep that left oldest as its oldest tag has
// reclaimed every batch sealed before Barrier's flush ended at epoch
// flushed. Robust tags are unique (each seal increments the era), so a
// batch tagged flushed was sealed after it; classic tags are not, and a
// batch tagged flushed may be older.
func (c *Collector) sweptPast(oldest, flushed uint64) bool {
	if c.robust {
		return oldest >= flushed
	}
	return oldest > flushed
}

// flushAll has every slot hand its open batch to the collector: idle slots
// are flushed here, pinned ones flush themselves when their guard exits or
// refreshes (or are flushed here once idle, if a Pool's lock was taken
// then: see Pool.flushSlot).
func (c *Collector) flushAll(ctx context.Context) error {
	req := c.flushReq.Add(1)
	var w backoff.Backoff
	for !c.takeIdle(req) {
		if err := w.Wait(ctx); err != nil {
			return err
		}
	}
	return nil
}

// takeIdle flushes every idle slot that has not honoured flush request req
// and reports whether every slot has honoured it (a pinned slot honours it
// when its guard exits or refreshes).
//
// A slot's batches belong to its holder while a guard is open on it, so a
// collector may take them only from an idle slot, and the holder may pin
// again at any moment with a plain store. The protocol is Dekker's, with
// the collector paying for both fences: it claims the slots that look idle
// (a CAS, sequentially consistent), runs fence.Heavy, and reads their
// words again. The holder announces and then loads the claim (enter). Either
// the collector sees the announcement and releases its claim untouched, or
// the holder sees the claim and withdraws until it is released; the
// release is synchronized after the collector's flush. Claims carry a
// token per pass, so concurrent collectors never take each other's.
func (c *Collector) takeIdle(req uint64) (all bool) {
	token := c.claimToken()
	all = true
	claimed := false
	for s := range c.slots.All() {
		p := &s.Value
		switch {
		case p.flushed.Load() >= req:
		case p.word.Load() != 0 || !p.claim.CompareAndSwap(0, token):
			all = false
		default:
			claimed = true
		}
	}
	if !claimed {
		return all
	}
	fence.Heavy()
	finished := false
	defer func() {
		if !finished { // an OnReclaim panicked: release every claim of this pass
			for s := range c.slots.All() {
				s.Value.claim.CompareAndSwap(token, 0)
			}
		}
	}()
	for s := range c.slots.All() {
		if p := &s.Value; p.claim.Load() == token && !c.flushClaimed(s, req) {
			all = false
		}
	}
	finished = true
	return all
}

// claimToken returns a token that no other pass running now holds, and
// never 0 (which means unclaimed).
func (c *Collector) claimToken() uint32 {
	for {
		if t := uint32(c.claimSeq.Add(1)); t != 0 {
			return t
		}
	}
}

// testHookClaimed, if set by a test, runs while a collector holds the
// claim on an idle slot it is about to flush.
var testHookClaimed func(s *slot)

// flushClaimed flushes the slot the caller has claimed unless its holder
// announced a guard first, then releases the claim (also if an OnReclaim
// that the flush runs panics). It reports whether the slot has honoured
// req.
func (c *Collector) flushClaimed(s *slot, req uint64) bool {
	p := &s.Value
	defer p.claim.Store(0)
	if p.word.Load() != 0 {
		return false
	}
	if testHookClaimed != nil {
		testHookClaimed(s)
	}
	if p.flushed.Load() < req {
		c.flush(s, req, true)
	}
	return true
}

// Close shuts c down: every pending object is reclaimed, and Enter and
// Register panic from then on, except while free functions run: those may
// Enter and Retire (Close reclaims what they retire too), and while they
// run, an Enter or Register on another goroutine may succeed as well. That
// happens during Close, or after a Close that returned ErrGuardsOpen when a
// guard left open runs free functions; it is a race in the caller's
// program, and it is safe: Close reclaims only objects whose grace period
// is over, exactly as Barrier does, so no guard ever loses an object it
// can still reach.
//
// Close returns nil when nothing is pending and no guard is open. If guards
// are still open, Close reclaims only what is safe and returns an error
// wrapping ErrGuardsOpen that says how many guards are open and how many
// objects stay pending (and, WithGuardTracking, where the oldest open guard
// was entered). Those guards may still retire (and their free
// functions, run later, may Enter and Retire); call Close again once they
// have exited: it reclaims the rest. Every retired object is thus reclaimed
// exactly once, by Close at the latest. Closing a closed, drained Collector
// returns nil.
//
// Close does not wait for open guards. It waits only for a sweep (or an
// aging tick) that another goroutine is running, and so must not be called
// from a free function: it panics there (on amd64 and arm64; elsewhere it
// would wait for itself). Closing the Default collector panics. A panic
// from a free function propagates out of Close (also one that the aging
// timer met in a tick that Close waited for); call Close again to reclaim
// the rest.
func (c *Collector) Close() error {
	c.mustBeMade("Close")
	if c.isDefault {
		panic("epoch: Close of the Default Collector: it is shared by the whole process")
	}
	c.checkNotSweeping("Close")
	c.ager.Stop()
	c.state.Or(closedBit)
	// A tick that is running may sweep: its panic must come out of this
	// Close, and it is stored only after the tick has let go of the
	// reclaiming lock, so wait for the tick itself.
	c.ager.Wait(context.Background())
	c.ager.Rethrow()
	for !c.reclaiming.CompareAndSwap(false, true) {
		runtime.Gosched()
	}
	done := false
	defer func() { c.unlockSweep(done) }()
	for {
		c.takeIdle(c.flushReq.Add(1))
		for range 2 {
			if !c.tryAdvance(true) {
				break
			}
		}
		c.sweepLocked()
		// The scan for open guards comes after the last free function has
		// returned, with the state exactly closedBit: an Enter that this
		// scan misses sees closedBit and panics (see Collector.enter).
		if open := c.openGuards(); open > 0 {
			done = true
			where := ""
			if c.tracking {
				if st := c.Stats(); st.OldestGuardStack != "" {
					where = fmt.Sprintf("\nthe oldest, open for %v, was entered at:\n%s", st.OldestGuardAge, st.OldestGuardStack)
				}
			}
			return fmt.Errorf("epoch: Close: %w: %d guard(s) open; %d retired object(s) stay pending until they exit and Close is called again%s",
				ErrGuardsOpen, open, c.pending(), where)
		}
		if c.pending() == 0 {
			done = true
			return nil
		}
		runtime.Gosched() // a flush that another Barrier holds, or objects retired by free functions
	}
}

// openGuards counts the slots with a guard open. The heavy fence first
// makes every announcement made before the call visible.
func (c *Collector) openGuards() int {
	fence.Heavy()
	n := 0
	for s := range c.slots.All() {
		if s.Value.word.Load() != 0 {
			n++
		}
	}
	return n
}

// pending is retired minus reclaimed, read in the order that keeps it from
// going negative: every reclaimed object was counted as retired first.
func (c *Collector) pending() uint64 {
	retired, reclaimed := c.counts()
	return retired - reclaimed
}

// counts reads the retired and reclaimed counts, reclaimed first (see
// pending). Objects retired while the slots are summed count as pending,
// so a goroutine descheduled in the middle of the sum (for seconds, with
// thousands of goroutines) would report everything retired meanwhile: the
// read is retried, a few times, until it is quick.
func (c *Collector) counts() (retired, reclaimed uint64) {
	for range 4 {
		start := monotonic()
		reclaimed = c.reclaimed.Load()
		retired = c.retired()
		if monotonic()-start < int64(time.Millisecond) {
			break
		}
	}
	return retired, reclaimed
}

// retired sums the slots' counts of retired objects.
func (c *Collector) retired() uint64 {
	var n uint64
	for s := range c.slots.All() {
		n += s.Value.retired.Load()
	}
	return n
}
