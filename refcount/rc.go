package refcount

import "reflect"

// Rc is the single-goroutine counterpart of Arc, like Rust's rc::Rc<T>:
// the same API with plain (non-atomic) counts, so Clone and Release cost an
// increment and a decrement. The destructor runs exactly once, when the
// last strong handle is released.
//
// All handles to one value (Rc and RcWeak) must be used by one goroutine
// at a time: the counts are unsynchronized. Handing the whole group to
// another goroutine through a synchronizing operation (a channel send, a
// mutex) is fine; using two handles from two goroutines without one is a
// data race, which `go test -race` reports (with tracking off: tracking
// takes a lock that hides it).
//
// Copying an Rc does not make a new reference; Clone does. Zero handles
// and misuse behave as for Arc.
type Rc[T any] struct {
	in  *rcInner[T]
	rec *record
}

type rcInner[T any] struct {
	strong  plainCount
	weak    plainCount
	track   *objTrack
	destroy func(*T)
	value   T
}

// NewRc returns the first strong handle to a new value holding v; destroy
// (nil for none) runs as for NewArc.
func NewRc[T any](v T, destroy func(*T)) Rc[T] {
	in := &rcInner[T]{strong: 1, destroy: destroy, value: v}
	if trackingOn.Load() {
		in.track = newObjTrack(reflect.TypeFor[T]())
		return Rc[T]{in: in, rec: track(in.track, "Rc", "NewRc")}
	}
	return Rc[T]{in: in}
}

// Clone returns a new strong handle to r's value. It panics if the value
// was already destroyed (a copy of r was released).
func (r Rc[T]) Clone() Rc[T] {
	in := r.in
	if in == nil {
		return r
	}
	if r.rec == nil && in.strong > 0 { // untracked and alive: one increment
		in.strong++
		return r
	}
	return Rc[T]{in: in, rec: cloneRef[T](&in.strong, false, r.rec, in.track, "Rc")}
}

// Release gives r up and zeroes it; the last strong handle's Release runs
// the destructor. Releasing a zero Rc does nothing; a release past zero
// panics as for Arc.
func (r *Rc[T]) Release() {
	in, rec := r.in, r.rec
	if in == nil {
		return
	}
	*r = Rc[T]{}
	if rec == nil && in.strong > 1 { // untracked and not the last: one decrement
		in.strong--
		return
	}
	if dropRef[T](&in.strong, false, rec, in.track, "Rc") {
		runDestructor(in.destroy, &in.value)
	}
}

// Value returns a pointer to the value, nil for a zero Rc; valid while r
// is held.
func (r Rc[T]) Value() *T {
	if r.in == nil {
		return nil
	}
	r.rec.use("Value")
	return &r.in.value
}

// StrongCount returns the number of strong handles (0 for a zero Rc).
func (r Rc[T]) StrongCount() int {
	if r.in == nil {
		return 0
	}
	return int(r.in.strong.Load())
}

// WeakCount returns the number of RcWeak handles (0 for a zero Rc).
func (r Rc[T]) WeakCount() int {
	if r.in == nil {
		return 0
	}
	return int(r.in.weak.Load())
}

// Downgrade returns an RcWeak handle to r's value; the zero RcWeak for a
// zero Rc.
func (r Rc[T]) Downgrade() RcWeak[T] {
	in := r.in
	if in == nil {
		return RcWeak[T]{}
	}
	return RcWeak[T]{in: in, rec: downgradeRef(&in.weak, r.rec, in.track, "RcWeak")}
}

// IsZero reports whether r holds nothing.
func (r Rc[T]) IsZero() bool { return r.in == nil }

// Same reports whether r and o are handles to the same value (or both zero).
func (r Rc[T]) Same(o Rc[T]) bool { return r.in == o.in }
