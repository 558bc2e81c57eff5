package refcount

import (
	"strings"
	"sync/atomic"
)

// AtomicArc is a shared slot holding an Arc, like Rust's ArcSwapOption or
// C++20's atomic<shared_ptr>: readers Load a strong handle or Borrow the
// value while writers Store, Swap, CompareAndSwap and RCU, all without
// locks. The slot holds one strong reference to its value.
//
// A Load racing with a write never returns a value whose destructor has
// started: its increment fails once the count is marked destroyed, and a
// marked count stays so (see Weak), so a Load that lost the race reads the
// slot again. A Borrow protects the value with a hazard pointer
// (package hazard), and the slot's reference to a replaced value is
// released only once no hazard pointer protects it (see the package
// documentation for the design).
//
// Release of a replaced value, as in arc-swap: the write that replaces it
// releases the slot's reference before it returns, unless a Guard's hazard
// pointer protects the value at that moment. If that was the last
// reference, the destructor has run, on the writer's goroutine, when the
// write returns; if other handles remain, the last of their Releases runs
// it. (One exception: if another goroutine's reclamation, that of another
// write, of Barrier or of the aging timer, took the reference from the
// hazard domain first, that goroutine releases it, at the same time.) A
// reference held back by a protection is released once the protection has
// ended, by whichever comes first: the next write that replaces a value in
// any AtomicArc, Barrier, or the aging timer of the package's hazard domain
// (about one to two hazard.DefaultMaxBatchAge after the protection ended;
// the destructor then runs on the timer's goroutine).
//
// A panic from a destructor that a write runs propagates out of that
// write, after the write took effect; Swap then releases the handle it
// would have returned, and RCU the one it loaded. A panic from a destructor
// that the aging timer ran is raised again, with its value, by
// the next write that releases a reference or by Barrier.
//
// Memory order: a write (Store, Swap, successful CompareAndSwap or RCU) is
// synchronized before every Load, Borrow and write that observes the
// value it stored, so what the writer did to the value before storing it
// is visible to those readers. Everything a reader did through a Load's
// handle or a Guard before releasing it is synchronized before the
// destructor runs.
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
func (s *AtomicArc[T]) Load() Arc[T] { return s.load("AtomicArc.Load") }

// load is Load for the operation made, which tracking records.
//
// It takes no hazard pointer, unlike arc-swap's load, which must keep the
// count's memory from being freed under it: here the garbage collector
// keeps the arcInner while the reader holds its address, and incStrong
// never raises a destroyed value's count (see strong.go). So an increment
// that succeeds found the value not destroyed (its count was positive, or
// zero but not yet marked, and then the mark fails and this reference is
// the last), and the new handle's reference keeps it so, though the slot
// may have dropped it meanwhile: Load then returns a value the slot held
// when it was read. An increment that fails found a value whose last
// reference was released after the read; a write replaced it first (a write gives up the slot's
// reference only after its swap), so the slot holds another value by now,
// and load retries with it. If the slot still holds the destroyed value,
// its reference was released through a copy of the handle given to it:
// the misuse destroyedInSlot reports.
func (s *AtomicArc[T]) load(made string) Arc[T] {
	for {
		in := s.p.Load()
		if in == nil {
			return Arc[T]{}
		}
		if in.incStrong() {
			return Arc[T]{in: in, rec: track(in.track, "Arc", made)}
		}
		if s.p.Load() == in {
			in.destroyedInSlot(strings.TrimPrefix(made, "AtomicArc."))
		}
	}
}

// Store puts a into s, taking ownership of a: the caller must not release
// or otherwise use a, or any copy of it, afterwards. Storing the zero Arc
// empties s. The reference s held to its previous value is released before
// Store returns unless a hazard pointer protects that value (see AtomicArc
// for when and where it is released then).
func (s *AtomicArc[T]) Store(a Arc[T]) {
	s.giveUp(s.swap(a, "Store"))
}

// Swap puts a into s, taking ownership of a like Store, and returns a new
// strong handle to the value s held before (the zero Arc if it was empty),
// which the caller must release. The reference s held is released as by
// Store, so the returned handle is then the only one s accounts for.
func (s *AtomicArc[T]) Swap(a Arc[T]) (old Arc[T]) {
	in := s.swap(a, "Swap")
	if in == nil {
		return Arc[T]{}
	}
	// The slot's reference is counted until giveUp releases it, which
	// happens after the hazard pointers are scanned, so the count is at
	// least 1 here, but for misuse.
	if !in.incStrong() {
		in.destroyedInSlot("Swap")
	}
	old = Arc[T]{in: in, rec: track(in.track, "Arc", "AtomicArc.Swap")}
	given := false
	defer func() {
		if !given { // a destructor run by giveUp panicked: old never reaches the caller
			old.Release()
		}
	}()
	s.giveUp(in)
	given = true
	return old
}

// CompareAndSwap puts new into s if s holds old's value (is empty, for a
// zero old), and reports whether it did. It compares identity, as Same
// does, not the values. It always takes ownership of new: if the swap
// fails, new is released (running the destructor if it was the last
// handle). old stays the caller's either way. On success, the reference s
// held to old's value is released as by Store. A misuse panic (old or new
// a handle already given up) changes nothing: new stays the caller's.
func (s *AtomicArc[T]) CompareAndSwap(old, new Arc[T]) (swapped bool) {
	return s.compareAndSwap(old, new, "CompareAndSwap")
}

// compareAndSwap is CompareAndSwap for op (CompareAndSwap or RCU), which
// tracking reports name.
func (s *AtomicArc[T]) compareAndSwap(old, new Arc[T], op string) (swapped bool) {
	old.rec.use(op)
	new.checkAlive(op)
	if new.rec != nil {
		swapped = s.casTracked(old.in, new, op)
	} else if swapped = s.p.CompareAndSwap(old.in, new.in); swapped {
		s.untrackedGaveUp(old.in, op)
	}
	if swapped {
		s.giveUp(old.in)
	} else if in := new.in; in != nil {
		in.releaseStrong()
	}
	return swapped
}

// RCU replaces the value s holds with one computed from it, the
// read-copy-update loop of arc-swap's rcu: it loads the current value,
// calls update with a pointer to it (nil if s is empty), and puts the Arc
// that update returns into s with CompareAndSwap, so only if s still holds
// the value that update saw. If another writer got there first, RCU
// releases the Arc that update returned and starts again from the value
// now held. It returns a strong handle to the value it replaced (the zero
// Arc if s was empty), which the caller must release.
//
// Ownership: update runs once per attempt, so possibly more than once; it
// should only build the new value (make a copy, change the copy, NewArc
// it). RCU takes ownership of every Arc that update returns: the one it
// stores belongs to s, and each of the others is released as soon as its
// attempt fails, running its destructor if update made it (or held its only
// handle). Returning the zero Arc empties s. The pointer that update gets
// is valid until update returns: RCU holds a strong handle to the value
// meanwhile, so a long update keeps only that value alive. update must not
// write to s itself (that write would make its own attempt fail, every
// time). If update panics, s is unchanged, RCU lets go of the value it
// loaded, and the panic propagates.
//
// Memory order: the write that stored the value update sees is
// synchronized before that call of update, and the successful
// CompareAndSwap is synchronized before every Load, Borrow and write that
// observes the stored value, as for CompareAndSwap. Concurrent RCUs on one
// AtomicArc are linearizable: each successful one replaces exactly the
// value its update saw, so no update is lost or applied twice.
func (s *AtomicArc[T]) RCU(update func(cur *T) Arc[T]) (old Arc[T]) {
	cur := s.load("AtomicArc.RCU")
	stored := false
	defer func() {
		if !stored { // update panicked
			cur.Release()
		}
	}()
	for {
		if stored = s.compareAndSwap(cur, update(cur.Value()), "RCU"); stored {
			return cur
		}
		cur.Release()
		cur = s.load("AtomicArc.RCU")
	}
}

// checkAlive panics if a's value was already destroyed (a is a copy of a
// released handle): an AtomicArc must not publish it. A tracked handle's
// record reports the misuse first, with its stacks.
func (a Arc[T]) checkAlive(op string) {
	if in := a.in; in != nil && a.rec == nil && in.strongCount() == 0 {
		afterZero("AtomicArc."+op, typeName[T]("Arc"), gone(false), "this is a copy of a released handle", in.track.zeroAt(false))
	}
}

// swap puts a's reference into s and returns the value s held, whose
// reference now belongs to the caller.
func (s *AtomicArc[T]) swap(a Arc[T], op string) (old *arcInner[T]) {
	a.checkAlive(op)
	if a.rec != nil {
		return s.swapTracked(a, op)
	}
	old = s.p.Swap(a.in)
	s.untrackedGaveUp(old, op)
	return old
}

// swapTracked is swap for a tracked handle: the swap runs under the
// tracking lock, so the slot's records follow the publications exactly
// (see moveIntoSlot).
func (s *AtomicArc[T]) swapTracked(a Arc[T], op string) (old *arcInner[T]) {
	a.rec.moveIntoSlot(s, op, func() (*objTrack, bool) {
		old = s.p.Swap(a.in)
		return trackOf(old), true
	})
	return old
}

// casTracked is the compare-and-swap of op with a tracked handle new,
// under the tracking lock like swapTracked.
func (s *AtomicArc[T]) casTracked(old *arcInner[T], new Arc[T], op string) bool {
	return new.rec.moveIntoSlot(s, op, func() (*objTrack, bool) {
		return trackOf(old), s.p.CompareAndSwap(old, new.in)
	})
}

// untrackedGaveUp ends the record of the reference s gave up to old (if
// old is tracked) after a write of an untracked handle.
func (s *AtomicArc[T]) untrackedGaveUp(old *arcInner[T], op string) {
	if old != nil && old.track != nil {
		old.track.leaveSlot(s, op)
	}
}

func trackOf[T any](in *arcInner[T]) *objTrack {
	if in == nil {
		return nil
	}
	return in.track
}

// giveUp releases the reference s held to old, which it no longer holds,
// at once unless a hazard pointer protects old (see retireSlotRef).
func (s *AtomicArc[T]) giveUp(old *arcInner[T]) {
	if old != nil {
		retireSlotRef(&old.header)
	}
}
