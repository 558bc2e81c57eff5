package refcount

import (
	"github.com/go-reclaim/reclaim/hazard"
	"github.com/go-reclaim/reclaim/internal/race"
)

// Guard is a borrowed load from an AtomicArc, like arc-swap's Guard: it
// keeps the value it loaded from being destroyed without touching the
// value's count, so readers on different processors do not contend on
// one cache line. It holds a hazard pointer, so keep it for short reads:
// if the value is replaced while it is held, the reference its AtomicArc
// gave up stays pending (the write cannot release it), and Barrier waits
// for it. After Release, the next write that replaces a value in any
// AtomicArc, Barrier or the aging timer releases that reference (see
// AtomicArc). A goroutine that calls Barrier while it holds such a Guard
// waits for itself, until the context ends: release the Guard first.
//
// Everything done through a Guard before its Release is synchronized
// before the value's destructor runs.
//
// A Guard belongs to the goroutine that borrowed it until Release; to hand
// it to another, use a synchronizing operation in between. It must not be
// copied (go vet's copylocks check reports copies; go test runs only part
// of vet, without it): pass a *Guard. Release it exactly once; releasing
// the same variable again, or a zero Guard, does nothing, but releasing a
// copy of a released Guard releases the hazard pointer the slot serves
// since, another reader's. A Guard
// that is never released holds its hazard pointer for good (reported by
// Find when tracking is on).
type Guard[T any] struct {
	_   noCopy
	hp  hazard.Pointer
	in  *arcInner[T]
	rec *record
}

// Borrow returns a Guard on the value s holds; its Value is nil if s is
// empty. Borrow does not allocate. Under the race detector, Borrow of a
// value destroyed while s held it (a copy of the handle given to s was
// released) panics, as Load does always. (With tracking, that release
// itself panics first.)
func (s *AtomicArc[T]) Borrow() Guard[T] {
	hp := acquire()
	in := protect(&hp, &s.p)
	if in == nil {
		hp.Release()
		return Guard[T]{}
	}
	if race.Enabled && in.strongCount() == 0 {
		// While the slot held in, its reference kept the count above zero,
		// and the hazard pointer now keeps that reference: zero means a
		// copy of the handle given to the AtomicArc was released (Load
		// finds this in its increment; Borrow has no increment to fail).
		hp.Release()
		in.destroyedInSlot("Borrow")
	}
	return Guard[T]{hp: hp, in: in, rec: track(in.track, "Guard", "AtomicArc.Borrow")}
}

// acquire returns a hazard pointer of the domain, by value. It is not
// generic, and must not be: the compiler inlines hazard.Domain.Acquire
// (which keeps its *Pointer off the heap) into an instantiation of a
// generic function only if a non-generic function of the package inlines
// it too; without this one, every Borrow allocated.
func acquire() hazard.Pointer { return *domain.Acquire() }

// Value returns a pointer to the borrowed value, valid until Release; nil
// if the AtomicArc was empty. Like Arc.Value, it does not synchronize
// access to the value.
func (g *Guard[T]) Value() *T {
	if g.in == nil {
		return nil
	}
	g.rec.use("Value")
	return &g.in.value
}

// Clone returns a new strong handle to the borrowed value (the zero Arc if
// the AtomicArc was empty), which outlives the Guard and must be released.
func (g *Guard[T]) Clone() Arc[T] {
	in := g.in
	if in == nil {
		return Arc[T]{}
	}
	g.rec.use("Clone")
	if !in.incStrong() { // protected: at least the slot's reference is counted, but for misuse
		in.destroyedInSlot("Borrow's Guard.Clone")
	}
	return Arc[T]{in: in, rec: track(in.track, "Arc", "Guard.Clone")}
}

// Release ends the borrow; the Guard becomes zero.
func (g *Guard[T]) Release() {
	if g.in == nil {
		return
	}
	g.rec.end("Release")
	g.in, g.rec = nil, nil
	g.hp.Release()
}

// IsZero reports whether g borrows nothing: the AtomicArc was empty, or g
// was released.
func (g *Guard[T]) IsZero() bool { return g.in == nil }

// noCopy makes go vet's copylocks check report copies of a Guard, whose
// hazard pointer must be released exactly once.
type noCopy struct{}

func (*noCopy) Lock()   {}
func (*noCopy) Unlock() {}
