package refcount

import "sync/atomic"

// AtomicArc is a shared slot holding an Arc, like Rust's ArcSwapOption or
// C++20's atomic<shared_ptr>: readers Load a strong handle or Borrow the
// value while writers Store, Swap and CompareAndSwap, all without locks.
// The slot holds one strong reference to its value.
//
// A Load racing with a Store never returns a value whose destructor has
// run: the reader protects the value with a hazard pointer (package
// hazard) before it increments the count, and the slot's reference to a
// replaced value is released only once no hazard pointer protects it (see
// the package documentation for why hazard pointers and not epochs). So a
// replaced value is destroyed shortly after its last holder lets go, not
// at once: when a later Store fills a batch, or at Barrier.
//
// Memory order: a Store (Swap, successful CompareAndSwap) is synchronized
// before every Load, Borrow, Swap and CompareAndSwap that observes the
// value it stored, so what the writer did to the value before storing it
// is visible to those readers.
//
// All methods are safe for concurrent use. The zero AtomicArc is empty and
// ready to use; an AtomicArc must not be copied after first use. Store the
// zero Arc to empty it: a value left in an AtomicArc that is dropped is
// never destroyed (with tracking on, Find reports the reference).
type AtomicArc[T any] struct {
	p atomic.Pointer[arcInner[T]]
}

// NewAtomicArc returns an AtomicArc holding a, taking ownership of a.
func NewAtomicArc[T any](a Arc[T]) *AtomicArc[T] {
	s := new(AtomicArc[T])
	s.Store(a)
	return s
}

// Load returns a new strong handle to the value s holds, or the zero Arc if
// s is empty. The caller must release it. Load does not allocate.
func (s *AtomicArc[T]) Load() Arc[T] {
	in := loadStrong(&s.p)
	if in == nil {
		return Arc[T]{}
	}
	return Arc[T]{in: in, rec: track(in.track, "Arc", "AtomicArc.Load")}
}

// Store puts a into s, taking ownership of a: the caller must not release
// or otherwise use a, or any copy of it, afterwards. Storing the zero Arc
// empties s. The reference s held to its previous value is released after
// a grace period (see Barrier).
func (s *AtomicArc[T]) Store(a Arc[T]) {
	s.enter(a, "Store")
	s.leave(s.p.Swap(a.in), "Store")
}

// Swap puts a into s, taking ownership of a like Store, and returns a new
// strong handle to the value s held before (the zero Arc if it was empty),
// which the caller must release.
func (s *AtomicArc[T]) Swap(a Arc[T]) Arc[T] {
	s.enter(a, "Swap")
	old := s.p.Swap(a.in)
	if old == nil {
		return Arc[T]{}
	}
	// The slot's reference is counted until leave retires it and its grace
	// period ends, so the count is at least 1 here.
	old.strong.Add(1)
	s.leave(old, "Swap")
	return Arc[T]{in: old, rec: track(old.track, "Arc", "AtomicArc.Swap")}
}

// CompareAndSwap puts new into s if s holds old's value (is empty, for a
// zero old), and reports whether it did. It compares identity, as Same
// does, not the values. It always takes ownership of new: if the swap
// fails, new is released (running the destructor if it was the last
// handle). old stays the caller's either way.
func (s *AtomicArc[T]) CompareAndSwap(old, new Arc[T]) (swapped bool) {
	s.enter(new, "CompareAndSwap")
	if s.p.CompareAndSwap(old.in, new.in) {
		s.leave(old.in, "CompareAndSwap")
		return true
	}
	if in := new.in; in != nil {
		if in.track != nil {
			in.track.leaveSlot(s, new.rec, "CompareAndSwap (failed, released)")
		}
		in.releaseStrong()
	}
	return false
}

// enter records, for a tracked value, that a's reference moves into s. It
// runs before the value is published in s, so that the record exists by
// the time any writer can take the reference out again.
func (s *AtomicArc[T]) enter(a Arc[T], op string) {
	if a.rec != nil {
		a.rec.enterSlot(s, op)
	}
}

// leave retires the reference s held to old, which it no longer holds.
func (s *AtomicArc[T]) leave(old *arcInner[T], op string) {
	if old == nil {
		return
	}
	if old.track != nil {
		old.track.leaveSlot(s, nil, "given up by AtomicArc."+op)
	}
	retireSlotRef(&old.header)
}
