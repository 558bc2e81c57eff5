package epoch

import (
	"math"
	"unsafe"

	"github.com/go-reclaim/reclaim/internal/pin"
	"github.com/go-reclaim/reclaim/internal/spin"
)

// bornNode is how a Pool of a robust Collector allocates its nodes: the
// era the node was last handed out by Get sits beside it, where Retire
// finds it. (The era of its retirement goes into its batch, beside its
// pointer.) For a 16-byte T the node takes 24 bytes: the robust set's
// reads on 4,096 keys, whose 2,048 nodes then fit the 48 KiB first-level
// cache of the development machine, took 2.06 us instead of 3.15 us with
// 32-byte nodes, the classic mode's 1.61 us. A node that no Pool allocated
// (new(T)) is read past its end: that is undefined, caught only on a
// best-effort basis (under -race, checkptr's fatal error). v comes first:
// a *T from Get points at the start of its bornNode.
type bornNode[T any] struct {
	v     T
	birth uint64 // the era Get handed it out at
}

// checkedNode is bornNode with the Pool that allocated it, so that Retire
// can tell a node from another Pool: the layout of a checked Pool (under
// the race detector, or WithGuardTracking), which pays 8 bytes a node for
// the check.
type checkedNode[T any] struct {
	bornNode[T]
	pool *Pool[T]
}

// unsifted is the reach of a batch that has not been sifted yet, and the
// birth of an empty batch.
const unsifted = math.MaxUint64

func birthOf[T any](x *T) uint64 { return (*bornNode[T])(unsafe.Pointer(x)).birth }

// alloc returns a new zeroed node for g.
func (p *Pool[T]) alloc(g *Guard) *T {
	if !p.robust {
		return new(T)
	}
	if p.checked {
		n := &checkedNode[T]{bornNode[T]{birth: p.birthFor(g)}, p}
		return &n.v
	}
	n := &bornNode[T]{birth: p.birthFor(g)}
	return &n.v
}

// born records that x, a recycled node, is handed out to g now.
func (p *Pool[T]) born(x *T, g *Guard) { (*bornNode[T])(unsafe.Pointer(x)).birth = p.birthFor(g) }

// checkOwn panics if x, about to be retired into p, came from another
// Pool's Get; only a checked Pool can tell. Retire calls it before it
// enters its section on the limbo, so that the panic leaves none open.
func (p *Pool[T]) checkOwn(x *T) {
	if p.checked && (*checkedNode[T])(unsafe.Pointer(x)).pool != p {
		panic("epoch: Pool.Retire of a node that did not come from this Pool's Get (with WithRobust, a Pool keeps each node's birth era beside it)")
	}
}

// retireRobust appends x to the limbo of l, the share of g's slot, sealing
// it and judging when it is full. Retire's accesses to the limbo form a
// section that keeps other slots' seals from stealing it meanwhile (see
// stealLimbo): the caller has entered it, and retireRobust leaves it.
func (p *Pool[T]) retireRobust(l *poolLocal[T], g *Guard, x *T) {
	b := p.limboOf(l)
	p.noteRetire(l, b, x)
	b.nodes = append(b.nodes, x)
	countRetired(&g.s.Value) // before a stealer can seal x: see Collector.pending
	if len(b.nodes) < p.c.batchSize {
		l.leaveLimbo()
		return
	}
	l.lockSealed()
	p.sealRobust(l, l)
	l.unlockSealed()
	l.leaveLimbo()
	p.reclaimRobust(l)
}

// birthFor returns the birth era of a node handed out to g now, after
// raising g's reservation to it: a guard that loads the node after it is
// published reserves at least this era, and g itself, which may publish
// the node and dereference it afterwards, already has (the raise is a
// store before the node's publication).
func (p *Pool[T]) birthFor(g *Guard) uint64 {
	pp := &g.s.Value
	if !p.c.current(pp) { // reserve, its common case inlined
		p.c.raise(pp)
	}
	return pp.reserved
}

// noteRetire records x, about to be appended to b, the limbo of l, by the
// guard of l's slot: its birth lowers b's, and the first node retired under
// a guard marks where that guard's nodes start (and the birth of those
// before, which sealRobust seals apart).
func (p *Pool[T]) noteRetire(l *poolLocal[T], b *nodeBatch[T], x *T) {
	self := l.owner
	n := (*bornNode[T])(unsafe.Pointer(x))
	if pin := self.pin.Load(); pin != l.curPin {
		l.curPin, l.curStart, l.startBirth = pin, len(b.nodes), b.birth
	}
	b.birth = min(b.birth, n.birth)
	if n.birth > self.reserved {
		// The guard may have unlinked x without loading it (a Swap): its
		// reservation must cover x while it is open (Guard.Flush may hand
		// x to a sweep that judges by reservations alone).
		p.c.reserve(self)
	}
	b.retired = append(b.retired, p.c.epoch.Load()) // after the unlink, so a valid tag for the node alone
	if l.tick++; l.tick%eraStride == 0 {
		p.c.epoch.Add(1)
	}
}

// sealRobust seals the nodes of l's limbo that earlier guards of the slot
// retired and carries those of the open guard into a new limbo, so that the
// sealed batch can be reclaimed at once if no other guard reaches it: the
// open guard unlinked them itself and may still hold them, but it cannot
// reach what its slot's earlier guards unlinked. If the open guard retired
// the whole limbo, the limbo is sealed whole and marked with its pin.
//
// The caller holds l.sealedMu and l's limbo: it is l's holder, or a seal
// that stole the limbo (see stealLimbo), whose share of the Pool, spares,
// lends the batch of the carry.
func (p *Pool[T]) sealRobust(l, spares *poolLocal[T]) {
	b, k := l.limbo, l.curStart
	if k == 0 || k >= len(b.nodes) {
		b.pin = l.curPin
		l.sealLimbo(p.c)
		l.curStart = 0
		return
	}
	carry := p.newBatch(spares)
	carry.nodes = append(carry.nodes, b.nodes[k:]...)
	carry.retired = append(carry.retired, b.retired[k:]...)
	clear(b.nodes[k:])
	b.nodes, b.retired = b.nodes[:k], b.retired[:k]
	b.birth, b.pin = l.startBirth, 0
	carry.birth, carry.reach, carry.pin = minBirth(carry.nodes), unsifted, 0
	l.sealLimbo(p.c)
	l.limbo, l.curStart = carry, 0
	p.c.openBags.Add(1)
}

func minBirth[T any](nodes []*T) uint64 {
	birth := uint64(unsifted)
	for _, x := range nodes {
		birth = min(birth, birthOf(x))
	}
	return birth
}

// lockSealed takes l.sealedMu, and tryLockSealed tries to, for a short
// section that never blocks (a seal, a judge): both disable preemption
// until unlockSealed. The slot's owner takes the lock, waiting, at every
// seal; a holder descheduled with it (a seal judging another slot's
// batches, a sweep) would stall the owner inside its guard for as long as
// the holder waits for a P, seconds with 1,024 goroutines on 2 Ps (a
// diagnostic that was not kept sampled the robust stack at 1,024
// goroutines: 575 to 797 slots could not be locked at a sampled moment,
// and pending grew for the whole run; 0 to 3 with this). Since every
// holder is pinned, lockSealed spins rather than waits in the mutex, which
// would park the owner, with its guard open and its limbo in its hands
// (see pool_steal.go), until the scheduler got round to it again.
// flushSlot takes the Pool's lock first, then this.
func (l *poolLocal[T]) lockSealed() {
	var b spin.Backoff
	for !l.tryLockSealed() {
		b.Pause()
	}
}

func (l *poolLocal[T]) tryLockSealed() bool {
	pin.Pin()
	if l.sealedMu.TryLock() {
		return true
	}
	pin.Unpin()
	return false
}

func (l *poolLocal[T]) unlockSealed() {
	l.sealedMu.Unlock() // still pinned: a holder is never descheduled
	pin.Unpin()
}

// heldBy reports whether the open guard of the slot whose participant is
// self retired some of b's nodes and so may still hold them.
func (b *nodeBatch[T]) heldBy(self *participant) bool {
	return b.pin != 0 && b.pin == self.pin.Load()
}

// reclaimRobust judges the sealed batches of l, which the caller's slot
// owns, by a scan of the other slots' reservations (see judge): a batch
// that no guard reaches is reclaimed whole, and one that a guard reaches is
// sifted, node by node, when the guards reaching it have changed since it
// was last sifted. A batch with one node that a stalled guard may hold then
// no longer holds back the others: what a guard holds back is the nodes
// that were alive while it could load, not the batches they were retired
// with. It then tries another slot's batches and an orphaned batch
// (judgeStranded).
//
// The scan runs without l.sealedMu: with many slots it is most of a seal,
// and a goroutine descheduled in the middle of it used to keep its slot's
// batches locked away from the other slots' seals and the sweeps, for as
// long as it waited for a P. (With 1,024 goroutines on 2 Ps, a diagnostic
// that was not kept found a fifth of the slots locked so at a sampled
// moment, holding most of the pending nodes.) Instead the seal keeps its P
// from the scan to the end of its judging, and only tries l.sealedMu: a
// sweep or another slot's seal that holds it is judging these batches.
// So no seal is descheduled while it judges, and a snapshot, which with
// many slots is kept up to date from one seal to the next (see
// reservations), goes back to c.spans as soon as its seal has judged: a
// CPU profile of the robust Pool stack at 1,024 goroutines found 1,300
// snapshots of 20 KB each alive, and a third of the time in sorting them.
func (p *Pool[T]) reclaimRobust(l *poolLocal[T]) {
	r := p.c.scanner() // sync.Pool may block the first time: not pinned
	pin.Pin()
	o, turn := p.visit(l)
	if o != nil {
		p.askLimbo(o, turn) // before the scan's fence: see pool_steal.go
	}
	// No cheap look: a batch that a stalled guard holds may still have
	// nodes to sift out.
	p.c.scan(r, 0, 0, l.owner, false)
	if o != nil {
		p.stealLimbo(o, l)
	}
	if len(r.spans) > 16 { // many guards: sifting is likely (see sift)
		r.sort()
	}
	l.freed = l.freed[:0]
	if l.sealedMu.TryLock() {
		l.freed = p.judge(l, r, l.freed, l, false)
		l.sealedMu.Unlock()
	}
	if p.c.barriers.Load() == 0 {
		// Until OnReclaim has run on what it takes (also if it panics),
		// Barrier must wait for this seal: what it takes is in none of
		// the places a sweep looks.
		p.c.stealing.Add(1)
		defer p.c.stealing.Add(-1)
		l.freed = p.judgeStranded(l, o, r, l.freed)
	}
	pin.Unpin()
	p.c.spans.Put(r)
	p.reclaimAll(l.freed, func(b *nodeBatch[T]) { p.release(l, b) })
	clear(l.freed)
}

// visit returns the share of another slot that a seal of l's slot
// visits, and the turn (nil if the turn is l's own, or the share has not
// been made yet): the seal asks it for its limbo (askLimbo) and judges its
// sealed batches (judgeStranded). A slot keeps what its last seal found
// held, and its limbo, until it seals again, which a goroutine descheduled
// inside a guard does not do for as long as others run: seconds with 1,024
// goroutines on 2 Ps. The sweeps of the aging timer judge every slot too,
// but their goroutine waits for a P like the others. Measured with
// reclaimbench on the robust Pool stack (2-core development machine, runs
// of 1 s, before limbos were taken): peak pending at 64 goroutines
// 4,100-4,400 with one slot judged per seal against 12,600-12,900 with
// none, at 1,024 goroutines 8,500-9,700 against 30,600-32,900, throughput
// unchanged; eight slots per seal cost 5-10% of the throughput at 2 and 64
// goroutines and lowered pending no further.
//
// The turns are counted for all slots together, so that every share is
// visited as often however rarely its slot or the visitor's seals. (With
// a count per slot, at 1,024 goroutines, where most slots seal a few times
// a second, seals visited the first hundred or so shares over and over:
// measured on the Pool stack, 1,240 limbos taken in 5 s out of 1,100,000
// visits.)
func (p *Pool[T]) visit(l *poolLocal[T]) (o *poolLocal[T], turn uint64) {
	ls := *p.locals.Load()
	if len(ls) < 2 {
		return nil, 0
	}
	turn = p.turns.Add(1)
	if o = ls[turn%uint64(len(ls))]; o == l {
		return nil, 0
	}
	return o, turn
}

// judgeStranded judges by r the sealed batches of o, another slot's share
// (if not nil and its sealedMu is free: a slot whose batches another
// goroutine is judging or sealing is skipped), and then an orphaned batch
// (judgeOrphan); it appends what it frees to freed. r left l's slot out
// (see scan): its guard, open and running this seal, may hold nodes of
// other slots' batches, so its span goes in first. The caller counts
// itself in c.stealing until it has reclaimed what this takes.
func (p *Pool[T]) judgeStranded(l, o *poolLocal[T], r *reservations, freed []*nodeBatch[T]) []*nodeBatch[T] {
	r.add(l.owner, l.index)
	if o != nil && o.tryLockSealed() {
		freed = p.judge(o, r, freed, l, false)
		o.unlockSealed()
	}
	return p.judgeOrphan(l, r, freed)
}

// judgeOrphan judges, by r (which has every slot's span), one orphaned
// batch if the Pool's lock is free, and appends what it frees to freed.
// Flush requests (the aging timer's) move busy slots' batches to the
// orphans too, where only the sweeps, which wait for a P, looked at them.
// It takes the first orphan (the last takes its place) and appends it back
// if it stays held.
func (p *Pool[T]) judgeOrphan(l *poolLocal[T], r *reservations, freed []*nodeBatch[T]) []*nodeBatch[T] {
	pin.Pin()
	if !p.mu.TryLock() {
		pin.Unpin()
		return freed
	}
	defer pin.Unpin()
	defer p.mu.Unlock() // pinned: Unlock never yields the processor
	if len(p.orphans) == 0 {
		return freed
	}
	n := len(p.orphans) - 1
	b := p.orphans[0]
	p.orphans[0], p.orphans[n] = p.orphans[n], nil
	p.orphans = p.orphans[:n]
	switch reach := r.reach(b.epoch); {
	case reach < b.birth:
		return append(freed, b)
	case reach != math.MaxUint64 && (reach < b.reach || r.scans >= b.sifted+resiftEvery):
		if f := p.sift(b, r, reach, l); f != nil {
			freed = append(freed, f)
		}
		if len(b.nodes) == 0 {
			l.keepSpare(b)
			return freed
		}
	}
	p.orphan(b)
	return freed
}

// judge keeps in l.sealed the batches that a guard of r, or the open guard
// of l's slot, may still reach, sifting those whose reach has changed, and
// appends the rest, and the nodes sifted out, to freed, which it returns.
// The caller holds l.sealedMu. It runs no user code, so l.sealed is
// consistent whatever OnReclaim does afterwards.
//
// lend, if not nil, is the share of the slot the caller holds (a seal, of
// l itself or of a stranded slot): it lends its spare batches for sifting
// and takes back batches left empty. A seal leaves whole a batch sealed
// after r's fence, for a later seal: nodes retired before the fence could
// be sifted out now, but a batch is usually freed whole later, and sifting
// each new batch node by node cost the robust Pool stack 7% of its time;
// and it sifts a batch again only when its reach has changed, or every
// resiftEvery scans. Sweeps (every), which are rare, sift every batch that
// the slot's open guard did not retire.
func (p *Pool[T]) judge(l *poolLocal[T], r *reservations, freed []*nodeBatch[T], lend *poolLocal[T], every bool) []*nodeBatch[T] {
	kept := l.sealed[:0]
	for _, b := range l.sealed {
		reach := r.reach(b.epoch)
		switch {
		case b.heldBy(l.owner):
		case reach < b.birth:
			freed = append(freed, b)
			continue
		case !every && reach == math.MaxUint64:
		case every || reach < b.reach || r.scans >= b.sifted+resiftEvery:
			if f := p.sift(b, r, reach, lend); f != nil {
				freed = append(freed, f)
			}
			if len(b.nodes) == 0 { // every node was sifted out
				if lend != nil {
					lend.keepSpare(b)
				}
				continue
			}
		}
		kept = append(kept, b)
	}
	clear(l.sealed[len(kept):])
	l.sealed = kept
	return freed
}

// reclaimAll reclaims each batch of freed and gives it to give. If an
// OnReclaim panics, the batches not reached yet count as reclaimed and are
// left to the garbage collector, as the one that panicked is.
func (p *Pool[T]) reclaimAll(freed []*nodeBatch[T], give func(*nodeBatch[T])) {
	next := 0
	defer func() {
		for _, b := range freed[next:] {
			p.c.reclaimed.Add(uint64(len(b.nodes)))
		}
	}()
	for next < len(freed) {
		b := freed[next]
		next++
		give(p.reclaim(b))
	}
}

// sweepLocals sifts the sealed batches that slots keep, by r, a sweep's
// snapshot of every slot: a slot whose holder is descheduled keeps what its
// last seal found held, long after the guards that held it have exited. A
// slot that is sealing at the moment is skipped: it is not descheduled.
//
// Only the holder of the Collector's reclaiming lock calls it. It reads
// the locals without p.mu (newLocal copies them on write) and only tries
// each slot's sealedMu: it does not wait for a slot, nor keep the Pool's
// lock from flushSlot.
func (p *Pool[T]) sweepLocals(r *reservations) {
	if len(r.spans) > 16 { // sorted here rather than by sift, with a slot locked
		r.sort()
	}
	freed := p.sweepFreed[:0]
	for _, l := range *p.locals.Load() {
		if l != nil && l.tryLockSealed() {
			freed = p.judge(l, r, freed, nil, true)
			l.unlockSealed()
		}
	}
	p.sweepFreed = freed
	p.reclaimAll(freed, p.share)
	clear(freed)
}

// eraStride is how many nodes a slot retires into a Pool between two
// advances of the era (its seals advance it too). A guard stalled at an era
// holds back the nodes born and retired in that era, so the era advances
// more often than batches are sealed.
const eraStride = 16

// resiftEvery is how many scans of its slot a held batch waits before it
// is sifted again when its reach at its tag has not dropped: the guards
// that reach its nodes may have exited while others, reaching nothing in
// it, keep that reach up.
const resiftEvery = 8

// release makes b, reclaimed, the free list of l if that is empty, or
// shares it.
func (p *Pool[T]) release(l *poolLocal[T], b *nodeBatch[T]) {
	if l.free == nil || len(l.free.nodes) == 0 {
		if old := l.free; old != nil {
			l.keepSpare(old)
		}
		l.free = b
		return
	}
	p.share(b)
}

// sift moves the nodes of b that no guard of r reaches into a batch of
// their own and returns it (nil if there are none); b keeps the others, its
// birth lowered to theirs, and remembers reach, r's reach at its tag. A
// node is judged by its own birth and retirement, since guards that entered
// after it was retired cannot reach it: its batch was tagged when sealed,
// later. l, if not nil, lends its spare batch.
func (p *Pool[T]) sift(b *nodeBatch[T], r *reservations, reach uint64, l *poolLocal[T]) *nodeBatch[T] {
	b.reach, b.sifted = reach, r.scans
	if len(b.nodes) > 16 { // many nodes: one sort, then a binary search each
		r.sort()
	}
	held, birth := 0, uint64(unsifted)
	var f *nodeBatch[T]
	var lastTag, lastReach uint64 // nodes come in retirement order: few distinct tags
	for i, x := range b.nodes {
		if tag := b.retired[i]; tag != lastTag {
			lastTag, lastReach = tag, r.reach(tag)
		}
		if bx := birthOf(x); bx <= lastReach {
			b.nodes[held], b.retired[held] = x, lastTag
			held++
			birth = min(birth, bx)
			continue
		}
		if f == nil {
			if l != nil {
				f = l.takeSpare()
			}
			if f == nil {
				f = p.emptyBatch()
			}
		}
		f.nodes = append(f.nodes, x) // f is free: its retired eras are not kept
	}
	clear(b.nodes[held:])
	b.nodes, b.retired = b.nodes[:held], b.retired[:held]
	b.birth = birth
	return f
}
