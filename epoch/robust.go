package epoch

import (
	"sync/atomic"

	"github.com/go-reclaim/reclaim/internal/fence"
	"github.com/go-reclaim/reclaim/internal/race"
)

// The robust mode (WithRobust) is interval-based reclamation, 2GEIBR of
// Wen et al. (PPoPP 2018), on the classic mode's machinery. The epoch
// becomes an era clock that advances at seals whatever guards do, a guard
// reserves the interval of eras [lo, hi] (lo announced at Enter as in the
// classic mode, hi raised by Reserve and Load), and a Pool node has the
// eras it was born and retired in (the first beside it, the second in its
// batch). A node born at era b and retired at era t is held only by a
// guard whose interval meets [b, t]; see the package
// documentation for the argument and the bound, and pool_robust.go for the
// Pool's side.

// scanner returns reservations to scan into, for one seal.
func (c *Collector) scanner() *reservations {
	if r, _ := c.spans.Get().(*reservations); r != nil {
		return r
	}
	return new(reservations)
}

// scan takes a snapshot of the reservations into r, unless the batch (tag,
// birth) would stay held anyway.
//
// Ordering. Every batch r will judge (tag <= era) was sealed by an
// increment of the era that came before this scan's load of it (tags are
// the values those increments replaced), and every object in it was
// unlinked before that increment. The scan then runs fence.Heavy, or takes
// one that another scan completed and judges only what was sealed before it
// began (see sharedHeavy; in the sequentially consistent mode the holders'
// stores are themselves fences), and reads each slot's lo (word, then from)
// and then hi. A holder stores hi, or from, before the loads it protects
// and announces its entry before its first load. So for each guard either
// the scan sees the store, or the guard's later loads see the unlinks: a guard the scan missed cannot load the batch's objects from the
// structure, and a guard that raised hi after the scan cannot load one that
// was born after the hi the scan saw. That is why the snapshot stays valid.
// Reading word before from and hi errs safe when the slot changes guards in
// between: from and hi only grow, and a later guard's entry is not below an
// earlier one's from or hi.
//
// self, if not nil, is the caller's slot, left out of the snapshot: a Pool
// judges its slot's batches by it, and its own guard can reach only the
// nodes of batches marked with that guard's pin (see nodeBatch.pin).
func (c *Collector) scan(r *reservations, tag, birth uint64, self *participant, fresh bool) {
	era := c.epoch.Load() - 1
	if fence.Asymmetric {
		// The cheap look may miss announcements, so it can only say "keep
		// waiting" (the batch stays held when a guard seen here could reach
		// it): then the heavy fence is not worth paying.
		if c.heldCheaply(tag, birth) {
			return
		}
		era = c.sharedHeavy(fresh) - 1
	}
	r.begin(era, c.scanSeq.Add(1), c.slots.Len())
	var oldest *participant
	for s := range c.slots.All() {
		p := &s.Value
		entry := p.word.Load()
		if entry == 0 || p == self {
			r.see(s.Index(), 0, 0)
			continue
		}
		lo := max(entry, p.from.Load())
		r.see(s.Index(), lo, max(lo, p.hi.Load()))
		if entry < r.minEntry {
			r.minEntry, oldest = entry, p
		}
	}
	r.end()
	if oldest != nil {
		observe(oldest) // for Stats.OldestGuardAge
	}
}

// heldCheaply reports whether a guard seen without the heavy fence holds
// the batch (tag, birth); tag 0 means no batch in particular (false).
func (c *Collector) heldCheaply(tag, birth uint64) bool {
	for s := range c.slots.All() {
		p := &s.Value
		if lo := p.word.Load(); lo != 0 && lo <= tag && max(lo, p.hi.Load()) >= birth {
			return true
		}
	}
	return false
}

// reserve extends the open guard of p to every object born until now and
// reports whether it already covered them. Only the slot's holder calls it.
//
// A guard's first reservation, if the era has moved since it entered and
// it has retired nothing, moves the start of its interval for Pool nodes
// (from) instead of raising hi: the guard holds no Pool node yet (every
// load goes through Load or Reserve, and a node from Get is its own), so
// for them it is as if it entered now. It may still use what it retired:
// countRetired ends the first reservation's exception, and when a
// Pool.Retire is itself the first reservation, from moves to an era no
// later than the node's retirement era, which Retire reads afterwards, so
// the interval still meets the node's life. Its entry still holds back what Retire and Defer
// retired, as in the classic mode. A goroutine descheduled between Enter
// and its first load then reserves one era, not all those it missed. A
// reservation at the era the guard already covers (its entry era, for the
// first) ends the exception too: the guard may hold what it loaded.
func (c *Collector) reserve(p *participant) bool { return c.current(p) || c.raise(p) }

// current is reserve's common case, which has no call: it reports whether
// p's reservation is current, its entry era while it has reserved
// nothing, and if so ends the first reservation's exception.
func (c *Collector) current(p *participant) bool {
	if r := max(p.reserved, p.word.Load()); r == c.epoch.Load() {
		p.reserved = r
		return true
	}
	return false
}

// raise is reserve's slow path: the era has moved since the last
// reservation, or there was none.
func (c *Collector) raise(p *participant) bool {
	e := c.epoch.Load()
	if p.reserved == 0 { // the first reservation, nothing retired yet
		p.reserved = e
		if e == p.word.Load() { // the entry era (the holder's own word)
			return true
		}
		announce(&p.from, e)
		return false
	}
	p.reserved = e
	announce(&p.hi, e)
	return false
}

// Reserve keeps g's protection current for a pointer loaded without Load,
// and reports whether the pointer is protected. In the robust mode a guard
// protects only objects born up to the era it has reserved: Reserve raises
// that to the present and reports whether it had to. Call it right after
// each such load, with no Load, Reserve, Pool.Get, Pool.Retire or nested
// guard of the same Handle in between (any of them may raise the
// reservation, and a raise protects only what is loaded after it), and
// again after each reload:
//
//	p := src.Load()
//	for !g.Reserve() {
//		p = src.Load() // the reservation grew: load again
//	}
//
// If it reports true, p was loaded after the last raise, which covers it,
// and is protected as by Load, provided the load itself shows that p had
// not been unlinked (as hazard pointers require: a link read from a node
// that may already be unlinked, such as a marked one in a Harris list, does
// not). If it reports false, p is not protected yet, and a second Reserve,
// which will likely report true, says nothing about p: load it again, or
// check that the source still holds p, and only then call Reserve again,
// until it reports true (a node reclaimed before the raise may come back
// from a Pool and be linked at the same place; see
// marked.Pointer.TryReserve). In the classic mode a guard protects
// everything it loads and Reserve returns true. Reserve panics if g has
// exited.
func (g *Guard) Reserve() bool {
	// Inlined while the reservation is current (in the classic mode,
	// where reserveSlow returns true, it may or may not be). Written as one
	// expression, with the state field rather than isOpen, to stay within
	// the inlining budget (TestHotPathsInline).
	return g.state != closed && g.s.Value.reserved == g.c.epoch.Load() || g.reserveSlow()
}

func (g *Guard) reserveSlow() bool {
	s := g.active("Reserve")
	c, p := g.c, &s.Value
	return !c.robust || c.current(p) || c.raise(p) // current: a guard's first reservation at its entry era
}

// Reservation is a guard's reservation as a traversal checks it at every
// load: Current reports, with two loads, what Reserve's common case
// reports, without the three loads that Reserve makes first to find the
// reservation. Take it once per traversal and protect each load with
//
//	r := g.Reservation()
//	...
//	p := src.Load()
//	if !(r.Current() || g.Reserve()) {
//		// as when Reserve reports false: load again
//	}
//
// Current never raises the reservation: when it reports false, call
// Reserve, under Reserve's contract. In the classic mode, where Reserve
// always reports true, Current may report false. The robust
// Harris-Michael list of container/list checks its reads so.
//
// A Reservation is its guard's: use it only on the goroutine that holds
// the guard, and only while the guard is open (and its nested guards
// share it, as they share Reserve's reservation). Under the race detector
// Current panics once the guard has exited; otherwise its answer then
// means nothing, as a pointer loaded under the guard does. Current on the
// zero Reservation panics.
type Reservation struct {
	g     *Guard
	held  *uint64        // the slot's reserved: only its holder writes it
	clock *atomic.Uint64 // the Collector's era
}

// Reservation returns g's reservation, to check loads against cheaply. It
// panics if g has exited.
func (g *Guard) Reservation() Reservation {
	s := g.active("Reservation")
	return Reservation{g: g, held: &s.Value.reserved, clock: &g.c.epoch}
}

// Current reports whether the guard has reserved every object born until
// now: Reserve's inlined common case. For a guard that has reserved
// nothing yet it reports false, where Reserve may report true (at the
// era the guard entered at) without raising.
func (r Reservation) Current() bool {
	if r.held == nil {
		zeroReservation()
	}
	if race.Enabled {
		r.g.active("Reservation.Current")
	}
	return *r.held == r.clock.Load()
}

func zeroReservation() {
	panic("epoch: Current on a zero Reservation: take one from Guard.Reservation")
}
