package epoch

import (
	"math"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/go-reclaim/reclaim/internal/pin"
	"github.com/go-reclaim/reclaim/internal/race"
)

// Pool recycles nodes of type T through a Collector: a node given to Retire
// comes back out of Get only after a grace period, so a lock-free structure
// can reuse its nodes without ABA and without a reader ever seeing a node
// change under it. In steady state neither Get nor Retire allocates or
// executes an atomic instruction (in the robust mode, Retire increments the
// era every 16 nodes and, where fences are sequentially consistent,
// announces itself with an atomic store).
//
// Each participant slot keeps, per Pool, a free list and a limbo list (the
// DEBRA layout): Retire appends to the slot's limbo; a full limbo batch is
// tagged with the epoch and sealed; Get pops the free list and, when it is
// empty, takes the oldest sealed batch whose grace period is over (in the
// robust mode, seals hand such batches to the free list at once, and
// orphaned ones wait for the sweeps of Flush and the aging timer, and for
// seals, one orphan each; and a seal also takes the limbo of one other
// slot, in turn, whose holder is not in Retire: see pool_steal.go). Batches a
// slot does not need go to a shared sync.Pool for other slots, so the garbage
// collector may drop idle ones; Get then allocates a new node.
//
// On a robust Collector (WithRobust) each node also carries the era it was
// handed out at, beside it where the user never sees it (8 bytes; 16 under
// the race detector and WithGuardTracking, which also note the Pool, so
// that Retire of another Pool's node panics), and its batch the era it was
// retired at; each node is judged by the two, one by one: a
// guard descheduled or stalled holds back only the nodes that were alive
// while it could load them. Retire then
// reads the era (and increments it every 16 nodes), announces that it is
// at work on its limbo (a plain store where fences are asymmetric, an
// atomic one otherwise), and each sealed batch is judged by a scan of the
// slots (see the package documentation).
//
// Pool nodes count in the Collector's Stats: retired when Retire is
// called, reclaimed when their batch is handed back for reuse. Barrier and Close
// treat them like other retired objects: Close leaves none pending.
//
// A Pool is safe for concurrent use. The zero value is not usable; call
// NewPool.
type Pool[T any] struct {
	c         *Collector
	onReclaim func(*T)
	robust    bool // nodes are bornNode[T]: see pool_robust.go
	checked   bool // robust nodes are checkedNode[T] (race detector or WithGuardTracking)

	mu     sync.Mutex                      // serializes growth of locals and access to orphans
	locals atomic.Pointer[[]*poolLocal[T]] // by slot index; grows, never shrinks; copied on write (see newLocal)
	// orphans are sealed batches taken out of slots by Barrier and Close
	// (or by the owner, on their request); orphansSpare is an empty array
	// for reclaimOrphans to swap in.
	orphans, orphansSpare []*nodeBatch[T]
	// orphansFrom is at most the smallest tag of the orphans (MaxUint64
	// if there are none; 0 is always right), so that adoptOrphan finds
	// without a scan, and without mu, that none has expired: with a guard
	// stalled, every refill of every slot scanned all of them under mu.
	// Written under mu.
	orphansFrom atomic.Uint64
	shared      sync.Pool // of *nodeBatch[T] whose grace period is over
	// sweepFreed is sweepLocals' scratch, owned by the holder of the
	// Collector's reclaiming lock.
	sweepFreed []*nodeBatch[T]
	steals     atomic.Uint64 // limbos stolen (see pool_steal.go), for tests
	// turns counts robust seals, each of which visits one other slot's
	// share in turn (see visit).
	turns atomic.Uint64
}

// poolLocal is one slot's share of a Pool. Its free list belongs to the
// slot's owner (or to a Barrier or Close holding the slot), like the
// slot's own batch; its limbo also to a seal that steals it (see
// stealLimbo), and its sealed batches to whoever holds sealedMu (the
// owner's seals, other slots' seals, sweeps).
type poolLocal[T any] struct {
	free   *nodeBatch[T]   // reusable now
	limbo  *nodeBatch[T]   // retired, not yet sealed
	sealed []*nodeBatch[T] // oldest first
	// spares are empty batches kept for the next limbos and sifts: a
	// robust seal may take two (the carry of sealRobust, and a sift's
	// batch of freed nodes), and with one spare the robust Pool allocated
	// a batch at about a third of its seals (measured with batches of 4).
	spares [2]*nodeBatch[T]
	// Robust mode: the slot's guard (its pin count) that retired the
	// limbo's nodes from index curStart on; the earlier ones were retired
	// under guards that have exited, and startBirth is the least of their
	// births (meaningless while curStart is 0).
	curPin     uint64
	curStart   int
	startBirth uint64
	tick       uint32 // nodes retired, for eraStride
	// Robust mode: sealedMu guards sealed, which the sweeps and other
	// slots' seals sift too (see Pool.sweepLocals and judgeStranded), and
	// owner is the slot's participant.
	sealedMu sync.Mutex
	owner    *participant
	index    int             // the slot's
	freed    []*nodeBatch[T] // robust seal's scratch
	// Robust mode: the handshake by which another slot's seal takes the
	// limbo while the holder is not in Retire (see pool_steal.go).
	busy atomic.Uint64 // 1 while the holder is in Retire
	want atomic.Uint64 // 0, an ask or limboStealing
	// emptyAt is the owner's count of retired objects when a steal last
	// left the limbo empty: until the count moves, there is nothing to ask
	// for (see askLimbo).
	emptyAt atomic.Uint64
}

type nodeBatch[T any] struct {
	epoch uint64 // the epoch (era) it was sealed at
	// Robust mode: the smallest birth era of the nodes, the reach of the
	// guards (reservations.reach) at its tag and the scan (count) when the
	// batch was last sifted, and the pin count of the slot's guard that
	// retired some of its nodes and may still be open (0 if none).
	birth, reach, sifted, pin uint64
	nodes                     []*T
	// Robust mode: the era each node was retired at, by index, while the
	// batch is a limbo or sealed (a free batch's are stale).
	retired []uint64
}

// PoolOption configures a Pool.
type PoolOption[T any] func(*Pool[T])

// OnReclaim sets a function that runs on each node when its grace period is
// over, before the node becomes available to Get: to release what the node
// holds, or to poison it in tests so that a late reader is caught. It runs
// on whichever goroutine finds the node's batch expired (a Get, a Retire, an
// Exit that honours a flush, Flush, Barrier, Close or the aging timer),
// possibly while the Pool's lock is held, so it must not call the Pool or
// its Collector. It should not panic: if it does, the panic propagates to
// that caller (from the aging timer: to the next Flush, Barrier, Close or
// Retire that fills a batch),
// the nodes of that batch count as reclaimed and are left to the garbage
// collector instead of coming back from Get (in the robust mode, so are
// those of the other batches that the same seal or sweep had taken and
// not reached yet: OnReclaim does not run on them), and the Collector
// stays consistent.
func OnReclaim[T any](fn func(*T)) PoolOption[T] {
	return func(p *Pool[T]) { p.onReclaim = fn }
}

// NewPool returns a Pool of T on c.
func NewPool[T any](c *Collector, opts ...PoolOption[T]) *Pool[T] {
	if c == nil {
		panic("epoch: NewPool with a nil Collector (use epoch.Default() for the shared one)")
	}
	c.mustBeMade("NewPool")
	p := &Pool[T]{c: c, robust: c.robust, checked: c.robust && (race.Enabled || c.tracking)}
	p.orphansFrom.Store(math.MaxUint64) // no orphans
	for _, o := range opts {
		o(p)
	}
	p.locals.Store(new([]*poolLocal[T]))
	c.addPool(p)
	return p
}

// Get returns a zeroed node, as new(T) would: a recycled one whose grace
// period is over, or a new one. The node is the caller's until it is
// published. For a recycled node, every access made to it in its previous
// life (under any guard that could have loaded it, and by its OnReclaim) is
// synchronized before Get returns it. On a robust Collector, Get raises g's reservation to the
// node's birth, so g may keep using the node after publishing it (another
// goroutine that receives the node before it is published is not covered
// by its own reservation); like Load it may raise the reservation, so it
// must not come between a load and the Guard.Reserve that protects it. On
// a classic Collector, when retired nodes are waiting for their grace
// period and none can be reused yet, Get tries to advance the epoch, and
// yields the processor once if another guard, of an older epoch, holds it
// back, before it allocates. Get panics if g has exited or belongs to
// another Collector.
func (p *Pool[T]) Get(g *Guard) *T {
	l := p.cached(g)
	if l == nil || l.free == nil || len(l.free.nodes) == 0 {
		if l = p.refilled(g); l == nil {
			return p.alloc(g)
		}
	}
	f := l.free.nodes
	x := f[len(f)-1]
	l.free.nodes = f[:len(f)-1]
	*x = *new(T)
	if p.robust {
		p.born(x, g)
	}
	return x
}

// refilled returns g's share of p with a non-empty free list, or nil if no
// node can be reused yet.
//
// In the classic mode, when retired nodes are waiting but none can be
// reused yet, it tries to advance the epoch and, if a guard announced at
// an older epoch holds it back and g is not that guard, yields the
// processor once, and then tries again: with more goroutines than
// processors, that guard's goroutine is often one waiting for a
// processor, and letting it run lets the epoch advance. Else Get would
// allocate, and pending memory grow with the allocations: on the Pool
// stack on 2 processors (5 s runs, interleaved), 64 goroutines peaked at
// 163,000-223,000 nodes pending instead of 1.2-2.0 million (at 0.8x-0.9x
// the throughput), and 1,024 at 329,000-596,000 instead of 3.2-3.8
// million, with 8.8-11.0 Mops/s instead of 5.7-7.3; one and two
// goroutines were unchanged.
func (p *Pool[T]) refilled(g *Guard) *poolLocal[T] {
	l := p.local(g, "Pool.Get")
	if l.free != nil && len(l.free.nodes) > 0 || p.refill(l, g.s) {
		return l
	}
	if p.robust || len(l.sealed) == 0 && p.orphansFrom.Load() == math.MaxUint64 {
		return nil // nothing waits: the Pool is growing
	}
	if c := p.c; !c.tryAdvance(false) && c.lagging.Load() && g.s.Value.word.Load() == c.epoch.Load() {
		runtime.Gosched() // (if g lagged, it would hold the epoch back through the yield)
	}
	if p.refill(l, g.s) {
		return l
	}
	return nil
}

// Retire retires x: once no guard can hold x it goes back to the pool. The
// caller must have unlinked x. On a robust Collector x must come from this
// Pool's Get: a node of another Pool is caught under the race detector and
// with WithGuardTracking (a panic), and is undefined behaviour otherwise,
// as is one that no Pool allocated (caught under -race by checkptr's fatal
// error). On a robust Collector Retire, like Get, may raise g's
// reservation (to cover x, which g may have unlinked without loading it),
// so it must not come between a load and the Guard.Reserve that protects
// it. Retire panics if x is nil, or if g has exited or belongs to another
// Collector. Retiring a node twice is not detected: two later Gets may
// return it, and two owners corrupt the structure.
func (p *Pool[T]) Retire(g *Guard, x *T) {
	l := p.cached(g)
	switch {
	case l == nil || x == nil:
		p.retireSlow(g, x)
	case p.robust:
		p.checkOwn(x)
		l.enterLimbo()
		if b := l.limbo; b != nil && len(b.nodes) < p.c.batchSize-1 {
			// retireRobust's common case, written out: as a call it cost
			// the robust Pool stack 1 ns of its 44 (benchstat, ten runs).
			p.noteRetire(l, b, x)
			b.nodes = append(b.nodes, x)
			countRetired(&g.s.Value) // before a stealer can seal x: see Collector.pending
			l.leaveLimbo()
			return
		}
		p.retireRobust(l, g, x)
	case l.limbo != nil && len(l.limbo.nodes) < p.c.batchSize-1:
		l.limbo.nodes = append(l.limbo.nodes, x)
		countRetired(&g.s.Value)
	default:
		p.retireInto(l, g, x)
	}
}

func (p *Pool[T]) retireSlow(g *Guard, x *T) {
	if x == nil {
		panic("epoch: Pool.Retire of a nil pointer")
	}
	l := p.local(g, "Pool.Retire")
	if p.robust {
		p.checkOwn(x)
		l.enterLimbo()
		p.retireRobust(l, g, x)
		return
	}
	p.retireInto(l, g, x)
}

// retireInto appends x to the limbo of l (classic mode), sealing it when
// full.
func (p *Pool[T]) retireInto(l *poolLocal[T], g *Guard, x *T) {
	b := p.limboOf(l)
	countRetired(&g.s.Value)
	b.nodes = append(b.nodes, x)
	if len(b.nodes) >= p.c.batchSize {
		l.sealLimbo(p.c)
		p.reclaimExpired(l)
	}
}

// limboOf returns the limbo of l, opening one if it has none.
func (p *Pool[T]) limboOf(l *poolLocal[T]) *nodeBatch[T] {
	if b := l.limbo; b != nil {
		return b
	}
	b := p.newBatch(l)
	b.birth, b.reach, b.pin = unsifted, unsifted, 0
	l.limbo = b
	p.c.openBags.Add(1)
	p.c.ager.Arm() // after openBags: the tick that is armed sees it
	return b
}

// cached is the fast path of local: nil unless g is open, belongs to p's
// Collector, and its slot already has a share of p.
func (p *Pool[T]) cached(g *Guard) *poolLocal[T] {
	s := g.s
	if !g.isOpen() || g.c != p.c {
		return nil
	}
	if ls := *p.locals.Load(); s.Index() < len(ls) {
		return ls[s.Index()]
	}
	return nil
}

func (p *Pool[T]) local(g *Guard, op string) *poolLocal[T] {
	s := g.active(op)
	if g.c != p.c {
		if p.c == nil {
			panic("epoch: " + op + " on a zero Pool: make Pools with NewPool")
		}
		panic("epoch: " + op + " with a guard of another Collector")
	}
	if ls := *p.locals.Load(); s.Index() < len(ls) {
		if l := ls[s.Index()]; l != nil {
			return l
		}
	}
	return p.newLocal(s)
}

// newLocal gives slot s a share of p. The locals are copied on write:
// seals read other slots' entries without p.mu (judgeStranded), so a
// published array never changes. A slot gets its share once per Pool.
func (p *Pool[T]) newLocal(s *slot) *poolLocal[T] {
	i := s.Index()
	p.mu.Lock()
	defer p.mu.Unlock()
	ls := *p.locals.Load()
	if i < len(ls) && ls[i] != nil {
		return ls[i]
	}
	n := len(ls)
	if i >= n {
		n = max(i+1, 2*n)
	}
	grown := make([]*poolLocal[T], n)
	copy(grown, ls)
	grown[i] = &poolLocal[T]{owner: &s.Value, index: i}
	p.locals.Store(&grown)
	return grown[i]
}

func (p *Pool[T]) newBatch(l *poolLocal[T]) *nodeBatch[T] {
	if b := l.takeSpare(); b != nil {
		b.retired = b.retired[:0]
		return b
	}
	return p.emptyBatch()
}

// emptyBatch returns a new batch with room for a full batch, which it
// keeps for its whole life: any batch may become a limbo, and an append
// that grew one in Retire allocated, and the goroutine, waiting in the
// allocation, stayed descheduled inside its guard with the limbo in its
// hands (measured on the robust Pool stack at 1,024 goroutines: 82 of them
// at a sampled moment, when the batches that sifts make were sized to the
// nodes they took).
func (p *Pool[T]) emptyBatch() *nodeBatch[T] {
	n := p.c.batchSize
	b := &nodeBatch[T]{nodes: make([]*T, 0, n)}
	if p.robust {
		b.retired = make([]uint64, 0, n)
	}
	return b
}

// sealLimbo tags the limbo batch of l with the current epoch (every node
// in it was unlinked before this load) and queues it. The caller holds l's
// slot, or (robust mode) l.sealedMu and the limbo (see stealLimbo).
func (l *poolLocal[T]) sealLimbo(c *Collector) {
	b := l.limbo
	l.limbo = nil
	c.openBags.Add(-1)
	b.epoch = c.sealTag()
	l.sealed = append(l.sealed, b)
}

// reclaimExpired tries to advance the epoch (in the robust mode: scans) if
// l's oldest batch is still in its grace period: with asymmetric fences
// each costs a heavy fence, and an epoch that other slots moved already
// serves this one too. Expired batches beyond the one this slot will reuse
// next go to the shared pool, so a slot that retires more than it gets does
// not hoard nodes.
func (p *Pool[T]) reclaimExpired(l *poolLocal[T]) {
	if p.robust {
		p.reclaimRobust(l)
		return
	}
	gr := p.c.graceFor(l.sealed[0].epoch)
	for len(l.sealed) > 1 && gr.over(l.sealed[0].epoch, l.sealed[0].birth) {
		p.share(p.reclaim(l.popSealed()))
	}
}

// refill gives l, slot s's share, a non-empty free batch: its oldest
// sealed batch if that has expired, else an orphaned or shared one. It
// reports false if none is available.
func (p *Pool[T]) refill(l *poolLocal[T], s *slot) bool {
	var b *nodeBatch[T]
	// (In the robust mode seal already hands expired batches to free, and
	// orphans wait for the sweeps and for seals' judgeOrphan.)
	if p.robust {
		b, _ = p.shared.Get().(*nodeBatch[T])
	} else if e := p.c.epoch.Load(); len(l.sealed) > 0 && expiredAt(l.sealed[0].epoch, e) {
		b = p.reclaim(l.popSealed())
	} else if b = p.adoptOrphan(e); b == nil {
		b, _ = p.shared.Get().(*nodeBatch[T])
	}
	if b == nil {
		return false
	}
	if old := l.free; old != nil {
		l.keepSpare(old) // empty; reuse its array for the next limbo
	}
	l.free = b
	return true
}

// takeSpare returns one of l's spare batches, or nil if it has none.
func (l *poolLocal[T]) takeSpare() *nodeBatch[T] {
	for i, b := range l.spares {
		if b != nil {
			l.spares[i] = nil
			return b
		}
	}
	return nil
}

// keepSpare keeps b, empty, as a spare of l if l has room, and otherwise
// leaves it to the garbage collector.
func (l *poolLocal[T]) keepSpare(b *nodeBatch[T]) {
	for i, s := range l.spares {
		if s == nil {
			l.spares[i] = b
			return
		}
	}
}

func (l *poolLocal[T]) popSealed() *nodeBatch[T] {
	b := l.sealed[0]
	copy(l.sealed, l.sealed[1:])
	l.sealed[len(l.sealed)-1] = nil
	l.sealed = l.sealed[:len(l.sealed)-1]
	return b
}

// reclaim counts b's nodes as reclaimed and runs OnReclaim on them. The
// caller has already taken b out of every list, so if OnReclaim panics, b
// is simply dropped.
func (p *Pool[T]) reclaim(b *nodeBatch[T]) *nodeBatch[T] {
	p.c.reclaimed.Add(uint64(len(b.nodes)))
	if p.onReclaim != nil {
		for _, x := range b.nodes {
			p.onReclaim(x)
		}
	}
	return b
}

func (p *Pool[T]) share(b *nodeBatch[T]) { p.shared.Put(b) }

// adoptOrphan takes an orphaned batch expired at epoch e, if there is one
// (classic mode).
//
// It reads the bound without the lock: a refill that misses an expired
// batch orphaned at that moment takes a shared batch or allocates, as it
// would have a moment earlier.
func (p *Pool[T]) adoptOrphan(e uint64) *nodeBatch[T] {
	if from := p.orphansFrom.Load(); from == math.MaxUint64 || !expiredAt(from, e) {
		return nil // neither has any orphan (expiredAt would wrap for none)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	from := uint64(math.MaxUint64)
	for i, b := range p.orphans {
		if expiredAt(b.epoch, e) {
			p.orphans = append(p.orphans[:i], p.orphans[i+1:]...)
			return p.reclaim(b) // orphansFrom stays below the others' tags
		}
		from = min(from, b.epoch)
	}
	p.orphansFrom.Store(from)
	return nil
}

// orphan adds bs to the orphans. The caller holds mu.
func (p *Pool[T]) orphan(bs ...*nodeBatch[T]) {
	p.orphans = append(p.orphans, bs...)
	p.lowerOrphansFrom(bs)
}

// lowerOrphansFrom keeps orphansFrom at most the tags of bs, batches
// orphaned again or anew. The caller holds mu.
func (p *Pool[T]) lowerOrphansFrom(bs []*nodeBatch[T]) {
	from := p.orphansFrom.Load()
	for _, b := range bs {
		from = min(from, b.epoch)
	}
	p.orphansFrom.Store(from)
}

// flushSlot moves slot s's limbo and sealed batches to the orphans, where
// Barrier and Close can reach them, and reports whether it did: unless
// wait, it gives up if the Pool's lock is taken. The caller holds s.
//
// A holder that honours a flush request in Exit or Refresh does not wait
// (the request stays pending, for its next Exit or Refresh, or for a
// Barrier to take the slot once idle): it would wait with its guard open,
// and the aging timer's requests reach every slot at once. With 1,024
// goroutines on 2 Ps, hundreds of them queued for the lock at every tick,
// and the mutex, starved, handed it from one to the next with a yield of
// the processor each time (measured on the robust Pool stack: 276
// goroutines waiting for it in Exit and 444 yielding it at a sampled
// moment).
func (p *Pool[T]) flushSlot(s *slot, wait bool) bool {
	i := s.Index()
	ls := *p.locals.Load()
	if i >= len(ls) || ls[i] == nil {
		return true
	}
	l := ls[i]
	// The Pool's lock first: waiting for it with l.sealedMu held would lock
	// the slot's batches away from the other slots' seals meanwhile.
	if wait {
		p.mu.Lock()
		pin.Pin()
	} else if pin.Pin(); !p.mu.TryLock() {
		pin.Unpin()
		return false
	}
	// Held pinned, so that the holder is not descheduled with the lock,
	// nor yields the processor in Unlock to a starving waiter.
	defer pin.Unpin()
	defer p.mu.Unlock()
	if p.robust {
		l.lockSealed()
		defer l.unlockSealed()
	}
	if l.limbo != nil && len(l.limbo.nodes) > 0 {
		l.sealLimbo(p.c) // no reclaiming here: Flush, Barrier and Close sweep the orphans once
		l.curStart = 0
	}
	p.orphan(l.sealed...)
	clear(l.sealed)
	l.sealed = l.sealed[:0]
	return true
}

// reclaimOrphans reclaims the orphans whose grace period gr ends and
// returns the smallest tag of those left (MaxUint64 if none).
//
// It takes the orphans out of the Pool for the time it judges them, so as
// not to hold the Pool's lock meanwhile (a flushSlot waits for it inside
// Exit), and puts back those it keeps, before any orphaned since. Only the
// holder of the Collector's reclaiming lock calls it.
func (p *Pool[T]) reclaimOrphans(gr grace) (oldest uint64) {
	p.mu.Lock()
	work := p.orphans
	p.orphans, p.orphansSpare = p.orphansSpare[:0], nil
	p.mu.Unlock()
	kept, next := work[:0], 0
	defer func() { // also if OnReclaim panics: keep what was not looked at
		kept = append(kept, work[next:]...)
		clear(work[len(kept):])
		p.mu.Lock()
		since := p.orphans
		p.orphans = append(kept, since...)
		p.lowerOrphansFrom(kept) // adoptOrphan may have raised it meanwhile
		clear(since)
		p.orphansSpare = since[:0]
		p.mu.Unlock()
	}()
	for next < len(work) {
		b := work[next]
		next++
		switch {
		case gr.over(b.epoch, b.birth):
			p.share(p.reclaim(b))
		case gr.res != nil:
			f := p.sift(b, gr.res, gr.res.reach(b.epoch), nil)
			if len(b.nodes) > 0 { // else every node was sifted out
				kept = append(kept, b) // before OnReclaim runs on f
			}
			if f != nil {
				p.share(p.reclaim(f))
			}
		default:
			kept = append(kept, b)
		}
	}
	oldest = math.MaxUint64
	for _, b := range kept {
		oldest = min(oldest, b.epoch)
	}
	return oldest
}

// slotFlusher is the Pool's side of Barrier and Close.
type slotFlusher interface {
	flushSlot(s *slot, wait bool) bool
	reclaimOrphans(gr grace) (oldest uint64)
	sweepLocals(r *reservations)
}
