package epoch

import (
	"math"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/go-reclaim/reclaim/internal/ager"
	"github.com/go-reclaim/reclaim/internal/cacheline"
	"github.com/go-reclaim/reclaim/internal/fence"
	"github.com/go-reclaim/reclaim/internal/race"
	"github.com/go-reclaim/reclaim/internal/registry"
	"github.com/go-reclaim/reclaim/internal/release"
	"github.com/go-reclaim/reclaim/internal/retire"
)

// Collector is an epoch-based reclamation domain. Objects retired through one
// Collector are reclaimed only after every guard of that Collector that was
// open when they were retired has exited. Use one Collector per data
// structure, or one for a whole program; guards of different Collectors are
// independent.
//
// All methods are safe for concurrent use. The zero value is not usable;
// call New.
type Collector struct {
	epoch atomic.Uint64 // global epoch, starts at 1
	// state is closedBit once Close has begun, plus drainUnit for each
	// goroutine running free functions (which may Enter and Retire).
	state    atomic.Uint64
	flushReq atomic.Uint64 // bumped by Barrier, Close and Flush
	// lagging is set while the last try to advance the epoch found a guard
	// announced at an older one (classic mode; see Pool.refilled). It
	// changes at most twice an advance, on the line that each advance
	// writes anyway, not on the read-only one below.
	lagging atomic.Bool
	_       cacheline.Pad

	slots  *registry.Registry[participant]
	sealed retire.Stack // full batches waiting for their grace period
	// reclaiming is a try-lock: one goroutine sweeps sealed at a time,
	// others leave their batches and go on. No holder ever waits for a
	// guard, so Barrier and Close wait for it only while a sweep runs.
	// sweepReq is set by a Flush that found it held: the holder sweeps
	// once more before it lets go (unlockSweep).
	reclaiming atomic.Bool
	sweepReq   atomic.Bool
	sweepGrace grace        // what a sweep reclaims by; owned by the reclaiming holder
	res        reservations // the robust mode's last scan; owned by the reclaiming holder
	spans      sync.Pool    // *reservations for Pool seals' scans
	// heavy is the heavy fence that seals and scans share (see
	// sharedHeavy).
	heavy   fence.Shared
	scanSeq atomic.Uint64 // numbers robust scans, for resifting (see judge)
	// stealing counts the robust seals that may hold batches they took
	// from other slots or the orphans and have not reclaimed yet (see
	// judgeStranded); barriers counts the Barriers waiting for them: while
	// it is not 0, new seals leave the other slots and the orphans alone.
	stealing atomic.Int64
	barriers atomic.Int32
	// sweeper is the goroutine running free functions, so that Close and
	// Barrier called from one of them panic instead of waiting for
	// themselves (0: none, or IDs unknown on this platform).
	sweeper atomic.Uintptr
	// ownSweepReq is set by a Flush from a free function of the sweep that
	// holds the reclaiming lock, which then serves it however many come
	// (see unlockSweep); only the lock's holder reads or writes it.
	ownSweepReq bool
	_           cacheline.Pad

	reclaimed atomic.Uint64
	claimSeq  atomic.Uint64 // tokens for takeIdle's claims
	// openBags counts the open batches (Retire's and Pools') that hold
	// objects. Opening one adds to it before arming the aging timer, and a
	// tick reads it after disarming, so one of the two sees the other.
	openBags atomic.Int64
	spare    sync.Pool // empty *retire.Batch for reuse
	ager     ager.Ager // hands open batches over once they are old

	poolsMu sync.Mutex
	pools   atomic.Pointer[[]slotFlusher] // copy on write

	batchSize int
	tracking  bool
	robust    bool
	isDefault bool
}

const (
	closedBit = 1
	drainUnit = 2
)

// New returns a Collector.
func New(opts ...Option) *Collector {
	cfg := config{batchSize: DefaultBatchSize, maxAge: DefaultMaxBatchAge}
	for _, o := range opts {
		o(&cfg)
	}
	c := &Collector{
		slots:     registry.New[participant](),
		batchSize: cfg.batchSize,
		tracking:  cfg.tracking,
		robust:    cfg.robust,
	}
	c.epoch.Store(1)
	c.pools.Store(new([]slotFlusher))
	c.ager.Init(cfg.maxAge, c.tick)
	return c
}

func (c *Collector) addPool(p slotFlusher) {
	c.poolsMu.Lock()
	defer c.poolsMu.Unlock()
	pools := append(append([]slotFlusher(nil), *c.pools.Load()...), p)
	c.pools.Store(&pools)
}

// Enter opens a guard for the calling goroutine. Until the guard's Exit,
// no object retired through c after Enter's announcement can be reclaimed
// while the guard could still hold a pointer to it: precisely, if an object
// is retired after a load made under the guard, its reclamation is
// synchronized after the guard's Exit.
//
// Enter takes the participant slot of the processor it runs on when no
// other guard holds it (else one from a shared free list) and gives it
// back on Exit; the hand-off executes no locked instruction. In steady
// state Enter never allocates, whatever the caller does with the *Guard
// (passes it to a function value, stores it): the Guard lives in the slot
// (see Guard for what that means for a guard used after Exit), except
// under the race detector and WithGuardTracking, where each Enter
// allocates a new one.
// For a hot loop that enters and exits repeatedly, a Handle (Register)
// skips the slot hand-off.
//
// Enter panics if c has been closed (see Close for Enter while Close runs).
func (c *Collector) Enter() *Guard { return c.enter(c.slots.Get(), openPooled) }

func (c *Collector) checkOpen(op string) {
	c.mustBeMade(op)
	if c.state.Load() == closedBit {
		panic("epoch: " + op + " on a closed Collector")
	}
}

// mustBeMade panics, naming op, if c is a zero Collector, not made by New.
func (c *Collector) mustBeMade(op string) {
	if c.slots == nil {
		panic("epoch: " + op + " on a zero Collector: make Collectors with New (or use Default())")
	}
}

// enterNoSlot panics for an Enter that has no slot: through an
// unregistered Handle, or on a zero Collector.
func (c *Collector) enterNoSlot() {
	if c != nil { // a zero Handle has no Collector either
		c.mustBeMade("Enter")
	}
	panic("epoch: Enter on an unregistered Handle")
}

func enterClosed() { panic("epoch: Enter on a closed Collector") }

// enter opens a guard on s, which the caller holds (a Handle's, open
// openHandle, or a slot from Get, open openPooled, which Exit gives back),
// and returns it. Its common case, an outermost guard with a ready cell on
// an open collector, makes no call and spills nothing (Handle.Enter
// inlines to a call of it; Collector.Enter calls Get first), because every
// load and store that Enter and Exit add between the loads of two
// operations shrinks how many of their cache misses the processor
// overlaps, so where operations wait for memory a guard costs far more
// than its own time (bench's EpochHandleEnterExitMisses: a Handle's guard
// around two dependent cache misses, 150.8 ns against the 33 ns of its
// floor Misses before this path was shortened, 122.8 ns after). A
// nested guard, a cell's first use and fresh Guards (under the race
// detector, with guard tracking) take enterSlow; a claimed slot and a
// closed collector, enterAnnounced.
//
// Every scan of the announcements (tryAdvance, Close) comes after a heavy
// fence, so either the scan sees this announcement, or every load the guard
// makes after it sees what was visible when the fence began: for Close and a
// fresh advance, everything the scanner made visible before its scan; for a
// seal's advance from e (a Pool's, or Retire's full batch), which reuses a
// shared fence, everything its starter had observed when it read an epoch of
// e or more, which includes the unlink of every object in batches sealed at
// e-1 or before, the only ones that advance ends the grace period of (see
// tryAdvance). (In the sequentially consistent mode the announcement itself
// is the fence.) The loads of claim and state below are such loads: a
// collector that claimed the idle slot before its Heavy either sees this
// announcement and leaves the slot alone, or this load sees its claim and
// the guard backs off (pinSlow; enterAnnounced loads the claim again, and
// backs off only if it is still held: a claim released in between was
// released after the collector's flush, which is then synchronized before
// the guard's loads); Close's last scan for open guards runs while the state
// is exactly closedBit, so either that scan sees this guard or this load
// sees closedBit, and the guard is withdrawn. A guard entered while free
// functions run (state above closedBit) is safe: Close reclaims only by
// grace periods, never past an open guard.
func (c *Collector) enter(s *slot, open uint8) *Guard {
	if s == nil {
		c.enterNoSlot()
	}
	p := &s.Value
	n := p.pin.Load() + 1
	g := p.cells.outerFor(n)
	if p.word.Load() != 0 || g.s == nil || race.Enabled && !testCellsUnderRace || c.tracking {
		return c.enterSlow(s, open)
	}
	release.StoreUint64(&p.pin, n)
	announce(&p.word, c.epoch.Load())
	if p.claim.Load() != 0 || c.state.Load() == closedBit {
		return c.enterAnnounced(s, open)
	}
	p.reserved = 0 // nothing reserved yet (see reserve): a store costs less here than a test of the mode
	g.state = open
	return g
}

// enterSlow is enter when its common case does not apply: a guard nested
// in an open one of the same Handle, or an outermost one that needs more
// than a ready cell.
func (c *Collector) enterSlow(s *slot, open uint8) *Guard {
	p := &s.Value
	if p.word.Load() != 0 { // a guard is open: only a Handle's slot is entered so
		// The outermost guard, if it is still open in its cell, must no
		// longer take Exit's common case, which would end the pin under
		// this one (see Guard.state).
		if o := p.cells.outerFor(p.pin.Load()); o.state == openHandle || o.state == openPooled {
			o.state = openSlow
		}
		p.nest++
		return c.freshGuard(s)
	}
	release.StoreUint64(&p.pin, p.pin.Load()+1)
	if c.tracking {
		// Before the announcement, and cleared after the word, so that
		// Stats finds a site on every slot it sees pinned. Skip Callers,
		// newEnterSite, enterSlow (tracking always takes it), enter and
		// the Enter that called it.
		p.site.Store(newEnterSite(5))
	}
	announce(&p.word, c.epoch.Load())
	return c.enterAnnounced(s, open)
}

// enterAnnounced opens the guard whose announcement enter or enterSlow has
// just published on s, backing off while a collector claims the slot, and
// panics if c is closed (giving a slot that is not a Handle's back first).
func (c *Collector) enterAnnounced(s *slot, open uint8) *Guard {
	p := &s.Value
	if p.claim.Load() != 0 {
		c.pinSlow(p)
	}
	if c.state.Load() == closedBit {
		p.word.Store(0)
		if c.tracking {
			p.site.Store(nil)
		}
		// No cell was handed out: count a second pin, so that the next
		// guard takes the cell the last one did not (see outerFor).
		release.StoreUint64(&p.pin, p.pin.Load()+1)
		if !p.handle {
			c.slots.Put(s)
		}
		enterClosed()
	}
	p.reserved = 0
	g := p.cells.outerFor(p.pin.Load())
	if race.Enabled && !testCellsUnderRace || c.tracking || g.s == nil {
		return c.freshGuard(s)
	}
	g.state = open
	return g
}

// pinSlow withdraws the announcement while a collector has claimed the
// slot to flush it, and announces again once the claim is released (which
// is synchronized after the collector's flush).
func (c *Collector) pinSlow(p *participant) {
	for {
		p.word.Store(0)
		for p.claim.Load() != 0 {
			runtime.Gosched()
		}
		announce(&p.word, c.epoch.Load())
		if p.claim.Load() == 0 {
			return
		}
	}
}

// announce publishes a pin: a release store in the asymmetric mode (a
// plain store on amd64; the scanners' fence.Heavy orders it before the
// guard's loads), a sequentially consistent one otherwise. Only the slot's
// holder writes the word.
func announce(w *atomic.Uint64, e uint64) { fence.Announce64(w, e) }

// tryUnpin closes the slot's outermost guard, unless a flush request is
// pending or guards are tracked: then it reports false and the caller runs
// unpinSlow. It has no call, so that it inlines into exitSlow.
func (c *Collector) tryUnpin(p *participant) bool {
	if c.flushReq.Load() != p.flushed.Load() || c.tracking {
		return false
	}
	clearWord(p)
	return true
}

// unpinSlow closes the slot's outermost guard when tryUnpin did not.
func (c *Collector) unpinSlow(s *slot) {
	p := &s.Value
	if req := c.flushReq.Load(); req != p.flushed.Load() {
		c.flushAndUnpin(s, req)
		return
	}
	clearWord(p)
	p.site.Store(nil) // guard tracking: after the word (see enterSlow)
}

// clearWord ends the pin with a release store, a plain store on amd64 and
// arm64 instead of an XCHG: a scan that reads 0 needs only that the guard's
// accesses came before, and the flush-request check above is a load, which
// a later store never overtakes. Nothing pairs with this store the way the
// announcement pairs with the scan (a stale "pinned" only delays a scan).
func clearWord(p *participant) { release.StoreUint64(&p.word, 0) }

// flushAndUnpin honours flush request req, unless a Pool's lock is taken
// (see Pool.flushSlot), and closes the guard, even if an OnReclaim that the
// flush runs panics.
func (c *Collector) flushAndUnpin(s *slot, req uint64) {
	p := &s.Value
	defer func() {
		clearWord(p)
		if c.tracking {
			p.site.Store(nil) // after the word (see enterSlow)
		}
	}()
	c.flush(s, req, false)
}

// retire appends e to the slot's open batch and, when the batch is full,
// hands it to the collector and collects.
func (c *Collector) retire(s *slot, e retire.Entry) {
	p := &s.Value
	countRetired(p)
	b := p.bag
	if b == nil {
		b = c.newBatch()
		p.bag = b
		c.openBags.Add(1)
		c.ager.Arm() // after openBags: the tick that is armed sees it
	}
	b.Entries = append(b.Entries, e)
	if len(b.Entries) >= c.batchSize {
		c.seal(p)
		c.collect(false)
	}
}

func (c *Collector) newBatch() *retire.Batch {
	if b, _ := c.spare.Get().(*retire.Batch); b != nil {
		return b
	}
	return &retire.Batch{Entries: make([]retire.Entry, 0, c.batchSize)}
}

// seal hands the slot's open batch to the collector, tagged with the current
// epoch. Every object in it was unlinked before this load of the epoch, so
// once the epoch has advanced twice past the tag, every guard that could
// have loaded one of them has exited.
func (c *Collector) seal(p *participant) {
	b := p.bag
	if b == nil || len(b.Entries) == 0 {
		return
	}
	p.bag = nil
	c.openBags.Add(-1)
	b.Epoch = c.sealTag()
	c.sealed.Push(b)
}

// sealTag returns the tag of a batch being sealed: the current epoch, read
// after every object in the batch was unlinked. In the robust mode the era
// also advances at every seal, which bounds the objects born in one era
// (see the package documentation).
func (c *Collector) sealTag() uint64 {
	if c.robust {
		return c.epoch.Add(1) - 1
	}
	return c.epoch.Load()
}

// flush hands over the batches of s and records that flush request req
// has been honoured, unless a Pool's lock was taken and not wait (see
// Pool.flushSlot).
func (c *Collector) flush(s *slot, req uint64, wait bool) {
	if c.handOver(s, wait) {
		s.Value.flushed.Store(req)
	}
}

// handOver seals the open batch of s, which the caller holds (pinned, or
// claimed while idle), and moves its Pool batches where Flush, Barrier and
// Close can reach them. It reports whether it moved them all: unless wait,
// it skips a Pool whose lock is taken.
func (c *Collector) handOver(s *slot, wait bool) bool {
	c.seal(&s.Value)
	all := true
	for _, pl := range *c.pools.Load() {
		all = pl.flushSlot(s, wait) && all
	}
	return all
}

// reclaimOrphans reclaims the expired Pool batches that Barrier and Close
// collected, and returns the smallest tag of those left (MaxUint64 if
// none).
func (c *Collector) reclaimOrphans(gr grace) (oldest uint64) {
	oldest = math.MaxUint64
	for _, pl := range *c.pools.Load() {
		oldest = min(oldest, pl.reclaimOrphans(gr))
	}
	return oldest
}

// collect tries to advance the epoch, then reclaims the batches whose grace
// period has passed, unless another goroutine is already reclaiming. fresh
// asks for a heavy fence of its own (Guard.Flush); Retire's full batches
// share the newest one, as Pool seals do (see sharedHeavy).
func (c *Collector) collect(fresh bool) {
	c.ager.Rethrow()
	c.tryAdvance(fresh)
	if !c.reclaiming.CompareAndSwap(false, true) {
		return
	}
	done := false
	defer func() { c.unlockSweep(done) }()
	list := c.sealed.TakeAll()
	var tag, birth uint64
	if c.robust { // the robust scan's cheap look probes the oldest batch
		tag, birth = oldestOf(list)
	}
	kept := c.reclaimList(list, c.graceNow(&c.res, tag, birth, fresh))
	kept.PushTo(&c.sealed)
	done = true
}

// oldestOf returns the tag and birth of the batch of list sealed first
// (0, 0 if list is empty).
func oldestOf(list *retire.Batch) (tag, birth uint64) {
	for b := list; b != nil; b = b.Next() {
		if tag == 0 || b.Epoch < tag {
			tag, birth = b.Epoch, b.Birth
		}
	}
	return tag, birth
}

// tryAdvance moves the global epoch from e to e+1 if every open guard
// entered at e. It reports whether the epoch is now past the value it read
// (moved by this call or by a concurrent one). The first scan is cheap and
// may miss announcements; only when it finds nothing holding the epoch
// back does the heavy fence count, and a second scan decide. In the robust
// mode the era advances at every scan instead, and tryAdvance does nothing.
//
// The advance ends the grace period of the batches sealed at e-1 and
// before, whose objects were all unlinked before the epoch left e-1. So a
// heavy fence that began once the epoch was e orders those unlinks before
// the later loads of every guard whose announcement the second scan misses,
// as one of the advance's own would (see sharedHeavy). fresh runs one of
// its own, as Barrier, Close and Flush do; Pool seals and Retire's full
// batches take the newest one instead, so that goroutines retiring at a
// high rate start at most one heavy fence per gap between them, and
// otherwise leave the advance to a later seal.
func (c *Collector) tryAdvance(fresh bool) bool {
	if c.robust {
		return false
	}
	e := c.epoch.Load()
	if !c.allAt(e) {
		setIfNot(&c.lagging, true)
		return false
	}
	if fence.Asymmetric && (c.sharedHeavy(fresh) < e || !c.allAt(e)) {
		return false
	}
	c.epoch.CompareAndSwap(e, e+1)
	setIfNot(&c.lagging, false)
	return true
}

// allAt reports whether every announcement it reads is idle or at e.
func (c *Collector) allAt(e uint64) bool {
	for s := range c.slots.All() {
		if w := s.Value.word.Load(); w != 0 && w != e {
			observe(&s.Value)
			return false
		}
	}
	return true
}

// Flush pushes reclamation forward without waiting for anything: idle
// slots hand their open batches (Pool nodes included) to the collector (a
// slot with a guard open hands its batches over when the guard exits or
// refreshes), the epoch advances as far as open guards allow, and every
// batch whose grace period is over is reclaimed, unless another goroutine
// is reclaiming at that moment (it then sweeps once more, for this Flush,
// before it stops; a goroutine that has already swept twice for other
// goroutines' Flushes leaves the sweep to the aging timer, which runs it
// within one period, or without one (WithMaxBatchAge(0)) to the next
// sweep, so that no caller sweeps for others for ever). So if
// no guard is open during Flush, every object retired before it has been
// reclaimed when Flush returns (or is being reclaimed by a concurrent
// Retire, Barrier or Flush, or, while Flushes keep coming, by the aging
// timer); objects that a guard open during Flush holds back are reclaimed
// by the aging timer (WithMaxBatchAge) after every such guard has exited,
// or by a later Flush, Barrier or Close.
//
// Without Flush, the collector does the same on its own once an open batch
// is older than the maximum batch age. Flush is safe to call from any
// goroutine, inside or outside a guard, and from a free function. A panic
// from a free function propagates out of Flush.
func (c *Collector) Flush() {
	c.mustBeMade("Flush")
	c.ager.Rethrow()
	c.flushNow()
}

// tick is the aging timer's work: a Flush while c is open. It reports
// whether work is still pending, so that the timer comes back.
func (c *Collector) tick() (more bool) {
	if c.state.Load()&closedBit != 0 {
		return false // Close reclaims the rest
	}
	return c.flushNow()
}

func (c *Collector) flushNow() (more bool) {
	c.takeIdle(c.flushReq.Add(1))
	for range 2 { // two advances end the grace period of what was just sealed
		if !c.tryAdvance(true) {
			break
		}
	}
	c.sweepSoon()
	return c.openBags.Load() > 0 || c.pending() > 0
}

// sweepSoon sweeps now, or, if another goroutine holds the reclaiming
// lock, has it sweep once more before it lets go: that sweep starts after
// this call's flush and advances, so it reclaims what they made
// reclaimable, which the holder's current sweep may have judged too early.
func (c *Collector) sweepSoon() {
	c.sweepReq.Store(true)
	if c.reclaiming.CompareAndSwap(false, true) {
		c.sweepAll()
	} else if c.sweeping() {
		c.ownSweepReq = true // a free function's Flush: its own sweep serves it
	}
}

// unlockSweep releases the reclaiming lock, which the caller holds, after
// its sweep ended normally (done) or by a panic. After a normal end, if a
// sweep was requested meanwhile (sweepSoon), it takes the lock again and
// sweeps: a requester stored sweepReq before its CompareAndSwap saw the
// lock held, so the load below, which follows the release, sees it, and
// this goroutine or the next holder sweeps for it. It does so for as long
// as its own free functions request sweeps (a chain of free functions that
// each retire the next object and Flush is drained by the Flush that
// started it), but at most maxSweepsForOthers times for other goroutines'
// requests: a request still there then is left to the aging timer, armed
// here (or, without one, to the next sweep). Sweeping for as long as
// requests came kept a goroutine whose Retire, Flush or Close had ended
// sweeping for others' Flushes for as long as they ran (a Close of the
// collector's race tests hung). After a panic it only releases the lock:
// the panic propagates, and the aging timer or the next Flush serves the
// request. (Where goroutine IDs are unknown, sweeping reports false and a
// free function's own requests count as others'.)
func (c *Collector) unlockSweep(done bool) {
	own := c.ownSweepReq // written only by the lock's holder: read under the lock
	c.ownSweepReq = false
	c.reclaiming.Store(false)
	for n := 0; done && c.sweepReq.Load(); n++ {
		if !own && n >= maxSweepsForOthers {
			c.ager.Arm() // after the load that saw the request: its tick sweeps
			return
		}
		if !c.reclaiming.CompareAndSwap(false, true) {
			return // the holder sees the request when it lets go
		}
		c.sweepReq.Store(false)
		done = false
		func() {
			defer func() {
				if !done {
					c.ownSweepReq = false
					c.reclaiming.Store(false)
				}
			}()
			c.sweepLocked()
			done = true
		}()
		own = c.ownSweepReq
		c.ownSweepReq = false
		c.reclaiming.Store(false)
	}
}

// maxSweepsForOthers bounds the sweeps a goroutine makes for other
// goroutines' requests before it returns (see unlockSweep).
const maxSweepsForOthers = 2

// sweepAll reclaims every sealed and orphaned batch whose grace period is
// over, releases the reclaiming lock, which the caller holds, and returns
// the smallest tag of the batches left (MaxUint64 if none).
func (c *Collector) sweepAll() (oldest uint64) {
	done := false
	defer func() { c.unlockSweep(done) }()
	c.sweepReq.Store(false) // this sweep serves every request made so far
	oldest = c.sweepLocked()
	done = true
	return oldest
}

// sweepLocked is sweepAll for a caller that keeps the lock.
func (c *Collector) sweepLocked() (oldest uint64) {
	gr := c.graceNow(&c.res, 0, 0, true)
	kept := c.reclaimList(c.sealed.TakeAll(), gr)
	oldest, _ = oldestOf(kept.Head())
	kept.PushTo(&c.sealed)
	if oldest == 0 {
		oldest = math.MaxUint64
	}
	if gr.res != nil {
		for _, pl := range *c.pools.Load() {
			pl.sweepLocals(gr.res)
		}
	}
	return min(oldest, c.reclaimOrphans(gr))
}

// countRetired counts one more object retired through p, for Stats. Only
// p's holder calls it, so a load and a release store suffice. The open
// guard may still use what it retired, so it is no longer fresh (see
// reserve).
func countRetired(p *participant) {
	release.StoreUint64(&p.retired, p.retired.Load()+1)
	if p.reserved == 0 {
		p.reserved = p.word.Load()
	}
}

// setIfNot stores v in b unless b holds it already, so that readers of a
// hint that rarely changes share its cache line.
func setIfNot(b *atomic.Bool, v bool) {
	if b.Load() != v {
		b.Store(v)
	}
}
