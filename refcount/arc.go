package refcount

import (
	"reflect"
	"sync/atomic"
	"unsafe"
)

// Arc is a strong handle to a value shared between goroutines, like Rust's
// Arc<T>. The value lives as long as some strong handle does; the last
// Release runs the destructor, exactly once, on the goroutine that calls it
// (when the last reference is one an AtomicArc gave up, on the goroutine
// that releases that: see AtomicArc).
//
// An Arc is a small value (two words). Copying it does not make a new
// reference: Clone does. Each handle obtained from NewArc, Clone,
// Weak.Upgrade, Guard.Clone, AtomicArc.Load, AtomicArc.Swap or
// AtomicArc.RCU must be released exactly once, by Release or by moving it
// into an AtomicArc; releasing two copies of one handle is a release past
// zero (see the package documentation for what is caught and how).
//
// Memory order: everything a goroutine does through a handle before it
// releases that handle is synchronized before the destructor runs. NewArc
// and Clone are synchronized before any operation on the handles they
// return.
//
// Different handles to one value may be used and released concurrently;
// one handle (one variable) belongs to one goroutine at a time.
//
// The zero Arc holds nothing: Clone returns the zero Arc, Value returns
// nil, Release does nothing, and StrongCount is 0.
type Arc[T any] struct {
	in  *arcInner[T]
	rec *record // nil unless the value is tracked
}

// arcInner is the shared allocation. The header comes first so that an
// AtomicArc can retire a *header with a non-generic free function (a
// generic one would need a closure, and an allocation, per retire).
type arcInner[T any] struct {
	header
	destroy func(*T)
	value   T
}

// header is the type-independent part of an Arc's allocation.
type header struct {
	strong atomic.Int64
	weak   atomic.Int64 // live Weak handles
	ops    valueOps     // arcOps[T]: a zero-size value, stored without allocating
	track  *objTrack    // nil unless tracked
}

// valueOps reaches the typed value from a *header.
type valueOps interface {
	destroy(h *header)
	name() string // the handle type, for messages: "Arc[pkg.T]"
}

type arcOps[T any] struct{}

func (arcOps[T]) destroy(h *header) { (*arcInner[T])(unsafe.Pointer(h)).destroyValue() }
func (arcOps[T]) name() string      { return typeName[T]("Arc") }

// NewArc returns the first strong handle to a new value holding v. When the
// last strong handle is released, destroy runs once with a pointer to the
// value, on the goroutine that released it; after it returns the value is
// zeroed, so what it referenced can be collected while Weak handles remain.
// A nil destroy means there is nothing to run. If destroy panics, the panic
// reaches the caller of the final Release and the value counts as
// destroyed all the same.
func NewArc[T any](v T, destroy func(*T)) Arc[T] {
	in := &arcInner[T]{destroy: destroy, value: v}
	in.ops = arcOps[T]{}
	in.strong.Store(1)
	if trackingOn.Load() {
		in.track = newObjTrack(reflect.TypeFor[T]())
		return Arc[T]{in: in, rec: track(in.track, "Arc", "NewArc")}
	}
	return Arc[T]{in: in}
}

// Clone returns a new strong handle to a's value. It panics if the value
// was already destroyed, which means a copy of a was released.
//
// The count is sticky at zero (see strong.go), so even a Clone through a
// copy of a released handle never brings a destroyed value back, and an
// Upgrade racing with it fails.
func (a Arc[T]) Clone() Arc[T] {
	// An untracked handle of a live value costs one atomic add.
	in := a.in
	if in == nil || a.rec == nil && in.incStrong() {
		return a
	}
	return Arc[T]{in: in, rec: in.cloneSlow(a.rec)}
}

// destroyedInSlot panics for op on an AtomicArc whose value was destroyed
// while it held it: the AtomicArc's reference was released through a copy
// of the handle given to it.
func (in *arcInner[T]) destroyedInSlot(op string) {
	afterZero("AtomicArc."+op, typeName[T]("Arc"), gone(false)+" while the AtomicArc held it",
		"a copy of the handle given to the AtomicArc was released", in.track.zeroAt(false))
}

// cloneSlow is Clone of a tracked handle (rec != nil), or of a destroyed
// value (which panics): it returns the new handle's record.
func (in *arcInner[T]) cloneSlow(rec *record) *record {
	rec.use("Clone")
	if rec == nil || !in.incStrong() {
		cloneAfterZero(typeName[T]("Arc"), gone(false), in.track.zeroAt(false))
	}
	return track(in.track, "Arc", "Clone")
}

// Release gives a up and zeroes it, so releasing the same variable twice
// is harmless. If a was the last strong handle, the destructor runs before
// Release returns. Releasing a zero Arc does nothing. A release that takes
// the count below zero (a copy of a was released already) panics; with
// tracking on, the message holds the stacks of both releases.
func (a *Arc[T]) Release() {
	in := a.in
	if in == nil {
		return
	}
	// An untracked release that is not the last costs one decrement.
	rec := a.rec
	*a = Arc[T]{}
	rec.end("Release")
	if n := in.strong.Add(-1); !liveCount(n) {
		in.lastStrong(n)
	}
}

// Value returns a pointer to the shared value, nil for a zero Arc. It is
// valid while a is held. The Arc does not synchronize access to the value
// itself: mutate it only with synchronization of your own.
func (a Arc[T]) Value() *T {
	if a.in == nil {
		return nil
	}
	a.rec.use("Value")
	return &a.in.value
}

// StrongCount returns the number of strong references to a's value: the
// handles, the AtomicArcs holding it, and the references AtomicArcs gave up
// while a hazard pointer protected it, until they are released. It is a snapshot that other goroutines may
// change at once. It returns 0 for a zero Arc.
func (a Arc[T]) StrongCount() int {
	if a.in == nil {
		return 0
	}
	return a.in.strongCount()
}

// WeakCount returns the number of Weak handles to a's value (0 for a zero
// Arc), a snapshot like StrongCount.
func (a Arc[T]) WeakCount() int {
	if a.in == nil {
		return 0
	}
	return int(a.in.weak.Load())
}

// Downgrade returns a Weak handle to a's value; the zero Weak for a zero Arc.
func (a Arc[T]) Downgrade() Weak[T] {
	in := a.in
	if in == nil {
		return Weak[T]{}
	}
	return Weak[T]{in: in, rec: downgradeRef(&in.weak, a.rec, in.track, "Weak")}
}

// IsZero reports whether a holds nothing: the zero Arc, or one released
// through this variable.
func (a Arc[T]) IsZero() bool { return a.in == nil }

// Same reports whether a and b are handles to the same value (or both zero).
func (a Arc[T]) Same(b Arc[T]) bool { return a.in == b.in }

func (in *arcInner[T]) destroyValue() { runDestructor(in.destroy, &in.value) }

// runDestructor runs destroy (if any) on v, then zeroes v even if destroy
// panics.
func runDestructor[T any](destroy func(*T), v *T) {
	defer func() {
		var zero T
		*v = zero
	}()
	if destroy != nil {
		destroy(v)
	}
}
