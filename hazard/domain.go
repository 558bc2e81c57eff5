package hazard

import (
	"context"
	"math"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-reclaim/reclaim/internal/ager"
	"github.com/go-reclaim/reclaim/internal/cacheline"
	"github.com/go-reclaim/reclaim/internal/fence"
	"github.com/go-reclaim/reclaim/internal/pin"
	"github.com/go-reclaim/reclaim/internal/race"
	"github.com/go-reclaim/reclaim/internal/registry"
	"github.com/go-reclaim/reclaim/internal/release"
	"github.com/go-reclaim/reclaim/internal/retire"
	"github.com/go-reclaim/reclaim/internal/spin"
)

// Domain owns hazard slots and the objects retired through it. Objects
// retired through a Domain are reclaimed once no slot of that Domain
// protects them. All methods are safe for concurrent use. The zero value is
// not usable; call New (or use Default).
type Domain struct {
	// Read by every Retire and Acquire, written rarely.
	slots     *registry.Registry[hazardSlot]
	shards    []shard // per P, and one more: open batches of retired objects (see shardOf)
	threshold int
	perSlot   int
	isDefault bool // Default's domain: Close panics
	// state is closedBit once Close has begun, plus drainUnit for each
	// sweep that is running free functions (which may Acquire and Retire,
	// even on a closed Domain).
	state atomic.Uint64
	aging ager.Ager // hands partial batches over and scans, after MaxBatchAge
	_     cacheline.Pad

	sealed sealedLists // sealed batches waiting for a scan
	// pending counts the objects in sealed batches, including those a scan
	// has taken and not yet reclaimed or put back. It is raised before a
	// batch is pushed, so it never counts less than the lists hold.
	pending atomic.Int64
	seq     atomic.Uint64 // objects sealed so far: tags sealed batches, for Barrier and shared fences
	heavy   fence.Shared  // the heavy fence that Retire's scans share (see sweeper.snapshot)
	_       cacheline.Pad

	// Written by scans.
	reclaimed atomic.Uint64
	atOnce    atomic.Uint64 // objects Reclaim freed at once: Retired and Reclaimed, never Pending
	peak      atomic.Uint64 // highest Pending seen
	inUse     atomic.Int64  // Pointers held, as the latest scan or Stats counted them
	_         cacheline.Pad

	spare    sync.Pool   // empty *retire.Batch
	sweepers sync.Pool   // *sweeper, with its hazard snapshot, for scans
	flushing atomic.Bool // held by flushShards: one flusher at a time
}

// hazardSlot is one hazard pointer: the address it protects, or 0, and
// whether a Pointer holds the slot (released slots wait in the registry's
// caches and free list).
type hazardSlot struct {
	addr atomic.Uintptr
	held atomic.Uintptr
}

type slot = registry.Slot[hazardSlot]

// shard is one processor's open batch, behind a lock that only Flush,
// Barrier, Close and the aging timer contend for: a goroutine takes its own
// P's shard while pinned, without a locked instruction where fences are
// asymmetric (see tryLock), and a flusher holds the shards of the other Ps
// against their owners by want. Every holder is pinned, so it cannot be
// descheduled meanwhile: an owner holds the lock for a few instructions, a
// flusher holds want across one heavy fence and its hand-overs.
//
// retired and handed count the objects retired into the shard and, of
// those, the ones sealed (handed to the domain). Only the shard's holder
// writes them, with release stores (plain stores on amd64), so that Retire
// pays no atomic read-modify-write for them; Stats and Flush read them.
type shard struct {
	// lock is 1 while a goroutine touches bag: the goroutine pinned to the
	// shard's P, which takes it by a plain store and gives way to a
	// flusher that wants the shard (see tryLock), or, on the spare
	// shard, any goroutine, by a compare-and-swap.
	lock atomic.Uint64
	// want is 1 while flushShards holds the shard of a P against its owner.
	want    atomic.Uint32
	bag     *retire.Batch
	retired atomic.Uint64
	handed  atomic.Uint64
	_       cacheline.Pad
}

// New returns a Domain.
func New(opts ...Option) *Domain {
	cfg := config{threshold: DefaultThreshold, perSlot: DefaultPerSlot, maxAge: DefaultMaxBatchAge}
	for _, o := range opts {
		o(&cfg)
	}
	d := &Domain{
		slots:     registry.New[hazardSlot](),
		shards:    make([]shard, runtime.GOMAXPROCS(0)+1),
		threshold: cfg.threshold,
		perSlot:   cfg.perSlot,
	}
	d.sealed.init()
	d.aging.Init(cfg.maxAge, d.tick)
	return d
}

// Threshold is the number of objects in sealed batches at which a Retire
// scans the hazard slots: max(WithThreshold, WithThresholdPerSlot ×
// Pointers held). Retire uses the count of Pointers that the latest scan,
// Stats or Threshold call made; Threshold counts them anew (it reads every
// slot) and returns the value Retire uses from then on.
func (d *Domain) Threshold() int {
	d.mustBeMade("Threshold")
	held := 0
	for s := range d.slots.All() {
		held += int(s.Value.held.Load())
	}
	d.inUse.Store(int64(held))
	return d.threshold0(held)
}

// threshold0 is the threshold for a count of Pointers held.
func (d *Domain) threshold0(held int) int { return max(d.threshold, d.perSlot*held) }

// Retire hands p to d: free(p) runs once no hazard pointer of d protects p.
// The caller must already have unlinked p, so that a Protect that starts
// from now on cannot return it.
//
// Memory order: every write made before Retire, and every access made
// through a hazard pointer that protected p until its Reset, Release or
// re-protection, is synchronized before free(p) runs. free runs exactly
// once, on a goroutine that calls Retire, Flush, Barrier or Close, or on
// the aging timer's goroutine (see WithMaxBatchAge); it may itself Retire.
// p counts in Stats.Retired and Stats.Pending from the moment Retire is
// called.
//
// Retire does not allocate in steady state. It panics if p or free is nil
// or if d is closed.
func Retire[T any](d *Domain, p *T, free func(*T)) {
	mustRetire(p)
	if free == nil {
		panic("hazard: Retire with a nil free function")
	}
	d.retire(retire.Of(p, free))
}

// mustRetire panics if p, about to be retired, is nil.
func mustRetire[T any](p *T) {
	if p == nil {
		panic("hazard: Retire of a nil pointer")
	}
}

const (
	closedBit = 1
	drainUnit = 2
)

// checkOpen panics if d is closed, unless the caller is a free function
// and a sweep of d is running (state above closedBit): free functions may
// Acquire and Retire after Close. The stack walk that tells a free
// function apart runs only then; an unrelated goroutine's call after Close
// returned panics even while another goroutine's Flush runs free functions
// (an independent review found it accepted, its node left pending on the
// closed Domain).
//
// It also panics, naming op, on a zero Domain: Retire would otherwise fail
// while pinned to its processor, where the runtime cannot recover a panic.
func (d *Domain) checkOpen(op string) {
	if s := d.state.Load(); s&closedBit != 0 && (s == closedBit || !calledFromFree()) {
		panic("hazard: " + op + " on a closed Domain")
	}
	d.mustBeMade(op)
}

// mustBeMade panics, naming op, if d is a zero Domain, not made by New.
func (d *Domain) mustBeMade(op string) {
	if d.slots == nil {
		panic("hazard: " + op + " on a zero Domain: make Domains with New (or use Default())")
	}
}

func (d *Domain) retire(e retire.Entry) {
	d.checkOpen("Retire")
	var fresh *retire.Batch // taken unpinned: sync.Pool may park the goroutine
	for {
		sh, owned := d.shardOf(pin.Pin())
		if !sh.tryLock(owned) {
			// A Flush, Barrier or Close is handing this shard's batch
			// over; it is pinned too, so it is done in a few microseconds.
			pin.Unpin()
			runtime.Gosched()
			continue
		}
		b := sh.bag
		if b == nil {
			if fresh == nil {
				sh.unlock()
				pin.Unpin()
				fresh = d.newBatch()
				continue
			}
			b, fresh = fresh, nil
			sh.bag = b
		}
		b.Entries = append(b.Entries, e)
		release.StoreUint64(&sh.retired, sh.retired.Load()+1)
		first, full := len(b.Entries) == 1, len(b.Entries) == batchSize
		var pending int64
		if full {
			pending = d.hand(sh)
		}
		sh.unlock()
		pin.Unpin()
		if fresh != nil {
			d.spare.Put(fresh)
		}
		if first {
			// After the unlock has published e. A later object of the
			// same batch needs no Arm: the tick armed now, or one it
			// re-arms while anything is pending, hands the whole batch
			// over, or has already taken it, and then that object starts
			// a new batch and arms.
			d.aging.Arm()
		}
		if full {
			d.aging.Rethrow()
			d.maybeScan(pending, false)
		}
		return
	}
}

func (d *Domain) newBatch() *retire.Batch {
	if b, _ := d.spare.Get().(*retire.Batch); b != nil {
		return b
	}
	return &retire.Batch{Entries: make([]retire.Entry, 0, batchSize)}
}

// hand seals sh's open batch: it tags it, puts it on the sealed list and
// returns the new pending count. The caller holds sh's lock, so a batch
// never leaves its shard without being on a list: a Barrier that has taken
// and released every shard's lock (or seen handed catch up with retired)
// finds every object retired before it in a batch tagged at most the seq
// it reads then.
func (d *Domain) hand(sh *shard) int64 {
	b := sh.bag
	sh.bag = nil
	n := len(b.Entries)
	p := d.pending.Add(int64(n))   // before the push: a scan may reclaim b at once
	b.Epoch = d.seq.Add(uint64(n)) // objects sealed so far (see fenceDue)
	d.sealed.push(b)
	release.StoreUint64(&sh.handed, sh.handed.Load()+uint64(n))
	return p
}

// handOpen hands sh's open batch over, if it holds anything, and returns
// the new pending count; the caller holds sh.
func (d *Domain) handOpen(sh *shard) (pending int64, handed bool) {
	if sh.bag == nil || len(sh.bag.Entries) == 0 {
		return 0, false
	}
	return d.hand(sh), true
}

// maybeScan scans (see scan for fresh) if pending reached the threshold.
func (d *Domain) maybeScan(pending int64, fresh bool) {
	if pending >= int64(d.threshold0(int(d.inUse.Load()))) {
		d.scan(fresh)
	}
}

// shardOf returns the shard of P pid and whether the goroutine pinned to
// pid owns it: each P that existed at New has a shard of its own, and the
// Ps that GOMAXPROCS added since share the last one.
func (d *Domain) shardOf(pid int) (sh *shard, owned bool) {
	spare := len(d.shards) - 1
	if pid < spare {
		return &d.shards[pid], true
	}
	return &d.shards[spare], false
}

// tryLock takes sh for a goroutine pinned to its P (owned), or to a P
// that shares the spare shard, and reports false if a flusher holds it.
//
// The owner of a P's shard takes it without a locked instruction: it
// announces the lock (fence.Announce64: a plain store where fences are
// asymmetric) and then reads want, while flushShards sets want, runs a
// heavy fence and then reads lock. That is the Dekker handshake of a
// guard's announcement with a scan: either the fence makes the owner's
// lock visible to the flusher, which waits for its release, or the owner's
// read of want comes after the fence and sees the flusher's want, and the
// owner gives way. No two goroutines run as the owner at once, since the
// owner is pinned to the P and a P passes between threads through the
// scheduler's own synchronization. The spare shard is shared, so it takes
// a compare-and-swap, from owners and flushers alike. Under the race
// detector, which cannot see that the P orders its owners one after the
// other, an owner takes its shard by a compare-and-swap too (and still
// gives way to want).
func (sh *shard) tryLock(owned bool) bool {
	if !owned {
		return sh.lock.CompareAndSwap(0, 1)
	}
	if race.Enabled {
		if !sh.lock.CompareAndSwap(0, 1) {
			return false
		}
	} else {
		fence.Announce64(&sh.lock, 1)
	}
	if sh.want.Load() == 0 {
		return true
	}
	sh.unlock()
	return false
}

// unlock releases sh, after the holder's accesses to its batch.
func (sh *shard) unlock() { release.StoreUint64(&sh.lock, 0) }

// flushShards hands every shard's open batch to the domain, then scans if
// Threshold objects are pending, as Retire does. With no unhanded object
// in any shard it returns at once. Otherwise it waits for another flusher
// to finish (giving up with ctx.Err() once ctx ends), takes its own P's
// shard as that shard's owner, and holds the other Ps' shards against
// their owners all at once, pinned, so that one heavy fence serves them
// all (see shard.tryLock): Retire on those Ps waits, yielding, for the
// fence and the hand-overs, a few microseconds. The spare shard comes
// last, by compare-and-swap.
func (d *Domain) flushShards(ctx context.Context) error {
	if !d.unhanded() {
		return nil
	}
	var pid int
	for {
		pid = pin.Pin()
		if d.flushing.CompareAndSwap(false, true) { // taken pinned: a holder is never descheduled
			break
		}
		pin.Unpin()
		if err := ctx.Err(); err != nil {
			return err
		}
		runtime.Gosched()
	}
	pending := d.flushOwned(pid)
	d.flushing.Store(false)
	pin.Unpin()
	if pending > 0 {
		d.maybeScan(pending, true)
	}
	spare := &d.shards[len(d.shards)-1]
	if r := spare.retired.Load(); spare.handed.Load() >= r {
		return nil // every object retired into it before the call is on a list
	}
	for {
		pin.Pin()
		if spare.tryLock(false) {
			break
		}
		pin.Unpin()
		if err := ctx.Err(); err != nil {
			return err
		}
		runtime.Gosched()
	}
	pending, full := d.handOpen(spare)
	spare.unlock()
	pin.Unpin()
	if full {
		d.maybeScan(pending, true)
	}
	return nil
}

// unhanded reports whether some shard holds objects not yet handed over.
// A shard's counts are read without its lock: an object whose Retire
// returned before the call is counted in retired (see shard).
func (d *Domain) unhanded() bool {
	for i := range d.shards {
		if sh := &d.shards[i]; sh.handed.Load() < sh.retired.Load() {
			return true
		}
	}
	return false
}

// flushOwned hands over the open batches of the Ps' own shards and returns
// the pending count after the last it handed (0 if none). The caller is
// pinned to P self and holds d.flushing, which makes it the only writer of
// want. P self's shard it takes as its owner, with no fence: no other
// goroutine runs on the P.
func (d *Domain) flushOwned(self int) (pending int64) {
	owned := d.shards[:len(d.shards)-1]
	asked := false
	for i := range owned {
		if sh := &owned[i]; i != self && sh.handed.Load() < sh.retired.Load() {
			sh.want.Store(1)
			asked = true
		}
	}
	if self < len(owned) {
		sh := &owned[self]
		if sh.tryLock(true) { // cannot fail: want is not set, no owner is mid-section
			pending, _ = d.handOpen(sh)
			sh.unlock()
		}
	}
	if !asked {
		return pending
	}
	fence.Heavy() // pinned: the owners wait while want is set
	for i := range owned {
		sh := &owned[i]
		if sh.want.Load() == 0 {
			continue
		}
		var b spin.Backoff
		for sh.lock.Load() != 0 { // an owner that locked before the fence
			b.Pause()
		}
		if p, ok := d.handOpen(sh); ok {
			pending = p
		}
		sh.want.Store(0)
	}
	return pending
}

// Flush pushes reclamation forward without waiting for anything: it hands
// every processor's open batch to d and scans once. Every object retired
// before Flush is called that no hazard pointer protects when the scan
// looks at the slots is reclaimed before Flush returns, unless a scan,
// Barrier or Close running on another goroutine has taken it, which then
// reclaims it; its free function is then synchronized before Flush returns.
// (A scan that had taken the object but keeps it, having looked at the
// slots before its protection ended, has put it back when Flush scans.)
// (Flush called from a free function does not cover what the sweep that
// runs it has taken: that sweep reclaims it when the free function
// returns.) Flush never waits for a hazard pointer to be reset, nor for a
// Barrier's or Close's free functions; it waits only for another flush of
// the processors' batches (Flush, Barrier, Close or the aging timer) and
// for a processor's batch, each held by a pinned goroutine for a few
// microseconds at most, and for the scans, Barriers and Closes that hold
// batches it would take while they judge them (pinned, for microseconds,
// or for as long as judging the lists a Barrier or Close took takes), and
// for a Barrier, Close or Flush that found the users of a list gone and is
// taking it (microseconds, unless the scheduler deschedules it).
//
// Flush is meant for objects that must be released promptly (files,
// handles, large snapshots): after a writer swaps a shared pointer and
// retires the old object, Flush reclaims it at once if no reader holds it
// (for one object, Reclaim does the same for less).
// With nothing to do it costs two atomic loads per processor and does not
// allocate. It may be called from any goroutine, at any time,
// including from a free function and after Close (it then reclaims what
// Close left because it was protected). A panic from a free function that
// Flush runs, or that the aging timer ran earlier, propagates out of
// Flush.
func (d *Domain) Flush() {
	d.mustBeMade("Flush")
	d.aging.Rethrow()
	d.flush()
}

func (d *Domain) flush() {
	d.flushShards(context.Background())
	if d.pending.Load() > 0 { // raised before each push: 0 means no list holds anything
		d.scan(true)
	}
	if d.sealed.stale.Load() != 0 {
		d.sweepStale()
	}
}

// tick is the aging timer's work: a Flush. It asks for another tick while
// anything is pending.
func (d *Domain) tick() (more bool) {
	d.flush()
	return d.pendingNow() > 0
}

// scan takes every batch on the current sealed list, reclaims what no
// hazard pointer protects, and puts the rest back on that list; it also
// frees what other scans of the list judged and left (see sweep). Scans
// may run concurrently on disjoint lists; a free function may itself
// Retire and so start a nested scan.
//
// Correctness: an object the scan reclaims was unlinked before its Retire,
// which happened before its batch was sealed, and so before the heavy
// fence the scan judges by began (its own, or a shared one that began
// after the seal: see sweeper.snapshot), which completed before the scan's
// loads of the hazard slots. A reader that protects it publishes the
// address and then re-reads the source; either the publication is visible
// to our loads, or the re-read comes after the fence and so after the
// unlink: it fails and the reader retries (see Protect). fresh asks for a heavy fence of the
// scan's own, so that it judges every batch it takes (Flush, Barrier, Close
// and the aging timer); Retire's scans share fences (see
// sweeper.snapshot).
//
// A fresh scan also reclaims what another scan held when it took the list
// and then kept: that scan looked at the slots before a protection ended,
// or judged by a shared fence that began before the batch was sealed, and
// put the batch back too late for this scan's take. If any other scan held
// batches of the list since the take (sealedList.alone), the fresh scan
// waits for those that hold some now, pinned and done within microseconds,
// and scans again. Whatever such a scan kept is then on the list, or
// taken by a scan that took it after the wait began, so after the fresh
// scan's own fence had completed: that one judges every batch sealed
// before the Flush (the newest shared fence is at least that one) and sees
// the slots as they were after Flush was called, so it reclaims what this
// Flush must.
func (d *Domain) scan(fresh bool) {
	if l, alone := d.scanOnce(fresh, false); fresh && !alone {
		l.awaitJudges()
		d.scanOnce(true, false)
	}
}

// scanOnce is one scan of the current list l, or (stale) of the stale
// list, if there is one (else it returns nil and true). For a fresh scan,
// alone reports whether no other scan held batches of l from before its
// take to after its put-back.
func (d *Domain) scanOnce(fresh, stale bool) (l *sealedList, alone bool) {
	sw := d.sweeper()
	if stale {
		l = d.sealed.enterStale()
	} else {
		l = d.sealed.enter()
	}
	if l == nil {
		d.sweepers.Put(sw)
		return nil, true
	}
	defer l.leave() // also when a free function panics
	judged := l.judged.Load()
	pin.Pin()
	sw.phase = l.startJudging()
	var list *retire.Batch
	if stale || d.sealed.mayScan(l) { // else a taker took the list, or is taking it
		list = l.TakeAll()
	}
	if list != nil {
		d.notePeakNow()
	}
	d.sweep(sw, list, l, fresh, 0) // also frees what other scans of l judged
	return l, fresh && l.alone(judged)
}

// sweepStale empties the stale list: a list that a Barrier or Close
// switched away from and has not yet taken with no users left, either
// because it is waiting for them now or because it stopped waiting. A
// Retire that entered the list before the switch may push its batch after
// the taker's take, or while the taker waits for another user (stuck in a
// free function, say). If sweepStale can take the right to take lists at
// once, it takes what the list holds (and, if no goroutine uses it, makes
// it no longer stale); what the users of the list still judge they put
// back before the take (awaitJudges). If another goroutine holds that
// right, it scans the list in place, as one of its users, as scan does
// the current one (see enterStale for why a taker and such a scan cannot
// miss each other). The taker waits for such scans as for any user, so it
// takes the list at a moment when no Flush scans it: Flushes in a tight
// loop on many goroutines delay a Barrier or Close (by 40 to 165 ms, with
// 16 goroutines flushing in a loop at GOMAXPROCS=16 on 2 CPUs, against 6 ms
// when Flush did not scan that list).
func (d *Domain) sweepStale() {
	var p patience
	if d.sealed.lockTaker(&p) != nil {
		d.scanStale()
		return
	}
	defer d.sealed.unlockTaker() // also when a free function panics
	list, _ := d.sealed.takeStale(&p)
	d.sweepBack(list, 0)
}

// scanStale scans the stale list in place, and again once the other scans
// that held its batches meanwhile have put back what they keep (see scan).
func (d *Domain) scanStale() {
	if l, alone := d.scanOnce(true, true); !alone {
		l.awaitJudges()
		d.scanOnce(true, true)
	}
}

// sweepBack sweeps a list that the caller took as a taker, puts what stays
// pending on the current list, and reports whether that holds an object
// tagged at or before tag. It reads the tags before the push: once pushed,
// a scan may take, reclaim and recycle the batches.
//
// It sweeps as a fresh scan of the current list (which cannot switch: the
// caller holds taker), counted among its judges, so that a Flush meanwhile
// waits until what it keeps is back there.
func (d *Domain) sweepBack(list *retire.Batch, tag uint64) (old bool) {
	if list == nil {
		return false
	}
	d.notePeakNow()
	sw := d.sweeper()
	home := d.sealed.enter()
	defer home.leave()
	pin.Pin()
	sw.phase = home.startJudging()
	return d.sweep(sw, list, home, true, tag)
}

// sweep reclaims the objects of list that no hazard pointer protects and
// puts the rest back on home, the list the caller uses, among whose judges
// it counts (startJudging); it reports whether what it put back holds an
// object tagged at or before tag. It is called with the processor pinned
// (pin.Pin; a scan pins before it takes list), and judges (snapshot and
// retire.Judge) without giving it up; then it unpins, since the free
// functions are the caller's code and may block. (Nothing it runs pinned
// panics but a membarrier that fails after its registration succeeded,
// which is then a fatal error: the runtime does not unwind a goroutine
// that holds its processor.)
//
// A scan puts what it keeps back on home (with the protected entries of
// batches that are otherwise doomed: retire.Separate), and what it may free
// on home's ready stack, before it stops counting and unpins, and frees
// from there a few batches at a time (drain), so that a scan descheduled
// at any point holds back at most drainBatches batches of 64: with 1,024
// goroutines on 2 processors, the batches that descheduled scans held were
// most of what was pending (see "The bound"). A fresh scan (Flush, the
// aging timer, Close) frees what it judged itself first, so that an object
// it took is reclaimed before it returns, and then drains home; so does a
// Barrier's or Close's sweep of a list it took (sweepBack). Everything a
// sweep keeps is on home before it stops counting, so that a Flush that
// waits for home's judges finds it there. If a free function panics, what
// is not reclaimed goes back on home. Close looks for this function's
// frame to tell that it runs inside a free function.
//
//go:noinline
func (d *Domain) sweep(sw *sweeper, list *retire.Batch, home *sealedList, fresh bool, tag uint64) (old bool) {
	defer d.sweepers.Put(sw)
	sw.home = home
	var kept, doomed retire.List
	if list != nil {
		sw.snapshot(fresh || d.fenceDue())
		kept, doomed = retire.Judge(list, sw)
		if retire.Separate(&kept, &doomed, sw.spare, batchSize) {
			sw.spare = nil
		}
		for b := kept.Head(); tag != 0 && b != nil; b = b.Next() {
			old = old || b.Epoch <= tag // before the push: then a scan may take and recycle b
		}
	}
	kept.PushTo(&home.Stack)
	if !fresh {
		doomed.PushTo(&home.ready)
	}
	home.endJudging(sw.phase)
	pin.Unpin()
	d.state.Add(drainUnit) // free functions may Retire, even after Close
	defer d.state.Add(^uint64(drainUnit - 1))
	if fresh {
		retire.Free(doomed, retire.List{}, sw) // Separate left nothing pending in doomed
	}
	d.drain(sw, home)
	return old
}

// drain runs the free functions of l's judged batches, a few batches at a
// time (popReady), until it finds none left (Separate left nothing pending
// in them; if a free function panics, Requeue puts back the rest). A scan
// drains after pushing its own, so once the last user of l has left, l's
// ready stack is empty (but for what a panicking free function left: see
// readyBack).
func (d *Domain) drain(sw *sweeper, l *sealedList) {
	for {
		some, busy := l.popReady()
		if busy {
			runtime.Gosched()
			continue
		}
		if some.Head() == nil {
			return
		}
		retire.Free(some, retire.List{}, sw)
	}
}

// sweeper returns a sweeper of d's, pooled: a Sweeper in an interface
// escapes. sync.Pool may block the first time it runs on a processor, so
// callers take it before they pin.
func (d *Domain) sweeper() *sweeper {
	sw, _ := d.sweepers.Get().(*sweeper)
	if sw == nil {
		sw = &sweeper{d: d}
	}
	if sw.spare == nil {
		sw.spare = d.newBatch()
	}
	return sw
}

// fenceDue reports whether a scan needs a heavy fence of its own: whether
// the objects sealed after the newest shared fence began, which that fence
// does not cover, reach the threshold. Batches are tagged with the count
// of objects sealed up to theirs, so those objects number seq less the
// fence's reading of it, whichever lists and scans hold them.
func (d *Domain) fenceDue() bool {
	return d.seq.Load()-d.heavy.From() >= uint64(d.threshold0(int(d.inUse.Load())))
}

// sharedGap is the least time between two heavy fences that Retire's
// scans share. A fence with every core busy costs about 13 us (see
// fence.Shared), and with a fence per scan the Treiber stack at 64 and
// 1,024 goroutines spent 71% to 81% of its time in them (scans come at
// nearly every sealed batch once pending stays above the threshold).
// Measured there (reclaimbench, runs of 1 s): with 20 us, 11.5-12.5 Mops/s
// instead of 6.6-6.9, mean pending 3,100-3,500 instead of 2,100-2,400 at
// 64 goroutines and 6,200-7,400 instead of 3,200-4,600 at 1,024; with 50
// and 100 us no faster, and pending up to twice as high.
const sharedGap = int64(20 * time.Microsecond)

// snapshot records the sorted addresses currently protected, and how many
// Pointers are held, for Threshold, after a heavy fence that began once
// the batches it will judge were sealed: the newest that Retire's scans
// share (fence.Shared), which leaves the batches sealed after it began
// for a later sweep (KeepBatch), or, if fresh, one of its own.
func (s *sweeper) snapshot(fresh bool) {
	s.from = math.MaxUint64 // sequentially consistent publications need no fence
	if fence.Asymmetric {
		// Every publication made before the fence is visible after it
		// (see Protect).
		s.from = s.d.heavy.Fence(&s.d.seq, sharedGap, fresh)
	}
	hs := s.hazards[:0]
	held := 0
	for sl := range s.d.slots.All() {
		if a := sl.Value.addr.Load(); a != 0 {
			hs = append(hs, a)
		}
		held += int(sl.Value.held.Load())
	}
	s.d.inUse.Store(int64(held))
	slices.Sort(hs)
	s.hazards = hs
}

// sweeper is the Domain's side of retire.Sweep: entries whose address is
// in the hazard snapshot stay pending.
type sweeper struct {
	d       *Domain
	home    *sealedList
	hazards []uintptr
	from    uint64        // the sweep judges the batches sealed (tagged) up to this
	phase   uint32        // of home's judges that the scan counts in (startJudging)
	spare   *retire.Batch // empty, for retire.Separate (taken before the sweep pins)
}

// KeepBatch keeps, whole, a batch sealed after the fence the sweep took
// began.
func (s *sweeper) KeepBatch(b *retire.Batch) bool { return b.Epoch > s.from }

func (s *sweeper) KeepsEntries() bool { return len(s.hazards) > 0 }

func (s *sweeper) KeepEntry(e retire.Entry) bool {
	_, found := slices.BinarySearch(s.hazards, uintptr(e.Addr()))
	return found
}

func (s *sweeper) Recycle(b *retire.Batch) { b.Reset(); s.d.spare.Put(b) }

func (s *sweeper) Reclaimed(n int) {
	s.d.reclaimed.Add(uint64(n))
	s.d.pending.Add(-int64(n))
}

// Requeue puts back what a panicking free function left, on the list the
// sweep uses: a Barrier that switched lists meanwhile waits for the sweep
// to leave that list and then takes it, with these batches.
func (s *sweeper) Requeue(kept retire.List) { kept.PushTo(&s.home.Stack) }

// retiredNow sums the shards' counts of retired objects.
func (d *Domain) retiredNow() uint64 {
	var n uint64
	for i := range d.shards {
		n += d.shards[i].retired.Load()
	}
	return n
}

// pendingNow is the number of objects retired and not reclaimed. Reclaimed
// is read first: an object is counted as retired before it can be
// reclaimed, so the difference never wraps, but it may count objects
// retired while the shards are read.
func (d *Domain) pendingNow() uint64 {
	reclaimed := d.reclaimed.Load()
	return d.retiredNow() - reclaimed
}

// pendingSample returns a value that Pending really had while it ran, for
// PeakPending: with Reclaimed the same before and after the shards are
// read, Pending only grew meanwhile, so the sum minus Reclaimed is at most
// Pending at the end; otherwise the sum minus the later Reclaimed is. (The
// difference that pendingNow returns may exceed every value Pending had,
// by all that other goroutines retired while it read.) exact reports the
// first case.
func (d *Domain) pendingSample() (p uint64, exact bool) {
	before := d.reclaimed.Load()
	retired := d.retiredNow()
	after := d.reclaimed.Load()
	if retired < after {
		return 0, false
	}
	return retired - after, before == after
}

// notePeakNow records Pending in PeakPending. Each sweep calls it before it
// reclaims anything: Pending only falls when objects are reclaimed, so its
// highest values come just before sweeps.
func (d *Domain) notePeakNow() {
	p, _ := d.pendingSample()
	d.notePeak(p)
}

// notePeak records p, a value Pending had, in PeakPending and returns
// PeakPending, at least p.
func (d *Domain) notePeak(p uint64) uint64 {
	old := d.peak.Load()
	for p > old && !d.peak.CompareAndSwap(old, p) {
		old = d.peak.Load()
	}
	return max(p, old)
}
