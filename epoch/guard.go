package epoch

import "github.com/go-reclaim/reclaim/internal/release"

// Guard is an open critical section of one goroutine on a Collector. While
// it is open, objects retired through the Collector after the guard's loads
// are not reclaimed.
//
// A Guard belongs to the goroutine that entered it: it must not be used from
// another goroutine, and it must be exited exactly once. A guard that is
// never exited stops reclamation for the whole Collector (Stats reports it
// as the oldest open guard).
//
// Misuse panics: Exit twice, or Retire, Defer, Load, Refresh or Pool.Get
// through an exited guard. So that Enter never allocates, though, a Guard
// is a cell of its participant slot, reused by later guards on that slot
// (see Collector.Enter), and the panic is certain only while the cell has
// not been reused: until the slot has opened two more guards of the same
// kind (outermost, or nested in a Handle's guard). That covers Exit twice
// and a guard kept one loop iteration too long. Past that, the stale
// *Guard may be the Guard of a later guard, possibly another goroutine's
// (a pooled slot passes between goroutines), and the misuse acts on that
// guard: a second Exit closes it, and its goroutine may then read reclaimed
// memory. Under the race detector, and on a Collector made
// WithGuardTracking, every Enter returns a new Guard and every use after
// Exit panics: run tests with -race to catch such bugs.
type Guard struct {
	c      *Collector
	s      *slot // the slot the guard is (or was last) open on
	state  uint8 // closed once exited; else how Exit closes it
	nested bool  // a nested guard's cell: Exit gives it back to the slot
}

// A Guard's state says, in the one byte that Exit reads first, whether it
// is open and whether Exit may close it by its common case: openHandle or
// openPooled for the outermost guard of a slot in its ready cell, in which
// no guard has been nested (Exit then gives the slot back to the registry
// if openPooled). Any other open guard is openSlow: nested, outermost with
// a guard nested in it since it entered (even one that has exited), a
// cell's first use, or a fresh Guard (under the race detector, with
// WithGuardTracking).
const (
	closed uint8 = iota
	openHandle
	openPooled
	openSlow
)

// isOpen reports whether g has not exited.
func (g *Guard) isOpen() bool { return g.state != closed }

// Open reports whether g is open: entered and not yet exited. It is for
// checks against misuse in code that takes a guard from its caller (a
// library that panics on an exited guard before it changes anything), not
// for synchronization: a *Guard kept after Exit may report true again once
// Enter hands out the same Guard, which a stale copy cannot tell apart.
func (g *Guard) Open() bool { return g.state != closed }

// Exit closes the guard. Pointers loaded under the guard must not be used
// afterwards. Exit panics if the guard has already exited.
func (g *Guard) Exit() {
	// The common case inline, in as few loads and stores as Enter's (see
	// Collector.enter); everything else in exitSlow.
	st := g.state
	if st != openHandle && st != openPooled {
		g.exitSlow()
		return
	}
	s, c := g.s, g.c
	p := &s.Value
	if c.flushReq.Load() != p.flushed.Load() {
		g.exitSlow()
		return
	}
	g.state = closed
	clearWord(p)
	if st == openPooled {
		c.slots.Put(s)
	}
}

// exitSlow is Exit when its common case does not apply: an exited guard
// (it panics), a guard in state openSlow (see Guard.state), a pending
// flush request.
func (g *Guard) exitSlow() {
	s := g.active("Exit")
	g.state = closed
	p := &s.Value
	if g.nested {
		p.putNested(g)
	}
	if p.nest > 0 { // another guard of the Handle is still open
		p.nest--
		return
	}
	if !g.c.tryUnpin(p) {
		g.c.unpinSlow(s)
	}
	if !p.handle {
		g.c.slots.Put(s)
	}
}

// Refresh lets the epoch advance past the guard without giving its slot
// back: it is Exit followed by Enter, at the cost of at most one atomic store,
// and none when the epoch has not moved since the guard entered. Pointers
// loaded before Refresh must not be used after it.
//
// Refresh panics on an exited guard, and on any guard of a Handle while
// another guard of that Handle is open (nested in it, or it nested in the
// other), which may still hold pointers.
func (g *Guard) Refresh() {
	s := g.s
	if g.isOpen() && s.Value.nest == 0 && g.c.epoch.Load() == s.Value.word.Load() && g.c.flushReq.Load() == s.Value.flushed.Load() {
		return // the epoch has not moved: the guard does not hold it back
	}
	g.refreshSlow()
}

func (g *Guard) refreshSlow() {
	s := g.active("Refresh")
	p := &s.Value
	if p.nest != 0 { // (a guard does not always know whether it is the outer one: under -race every guard is new)
		panic("epoch: Refresh while guards of the same Handle are nested: the other guard, outer or nested, may still hold pointers")
	}
	c := g.c
	if req := c.flushReq.Load(); req != p.flushed.Load() {
		c.flush(s, req, false)
	}
	release.StoreUint64(&p.pin, p.pin.Load()+2) // a new guard for Stats, the same cell (see outerFor)
	p.reserved = 0
	announce(&p.word, c.epoch.Load())
	if c.tracking {
		p.site.Store(newEnterSite(4)) // skip Callers, newEnterSite, refreshSlow, Refresh
	}
}

// Flush hands the objects retired through g's slot so far (Pool nodes
// included) to the collector at once, instead of when the batch is full or
// old, and then tries to advance the epoch and reclaim what has expired,
// without waiting (see Collector.Flush). Objects that g itself could still
// hold are not reclaimed before g exits: for prompt release, retire, exit,
// then call Collector.Flush. Flush panics if g has exited.
func (g *Guard) Flush() {
	s := g.active("Flush")
	g.c.handOver(s, true)
	g.c.collect(true)
}

// Collector returns the collector the guard belongs to.
func (g *Guard) Collector() *Collector { return g.c }

// active returns the guard's slot, or panics naming op if it has exited.
func (g *Guard) active(op string) *slot {
	if !g.isOpen() {
		g.exited(op)
	}
	return g.s
}

// exited is out of line so that active stays small enough to inline.
func (g *Guard) exited(op string) {
	panic("epoch: " + op + " through a guard that has already exited")
}
