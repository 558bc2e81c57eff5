package refcount

// RcWeak is the single-goroutine counterpart of Weak, like Rust's
// rc::Weak<T>: a handle to an Rc's value that does not keep it alive.
// Upgrade fails once the last strong handle has been released. It belongs
// to the goroutine that uses the Rc handles of the same value.
type RcWeak[T any] struct {
	in  *rcInner[T]
	rec *record
}

// Upgrade returns a new strong handle and true while the value is alive,
// or the zero Rc and false once it has been destroyed (or w is zero).
func (w RcWeak[T]) Upgrade() (Rc[T], bool) {
	in := w.in
	if in == nil {
		return Rc[T]{}, false
	}
	w.rec.use("Upgrade")
	if in.strong <= 0 {
		return Rc[T]{}, false
	}
	in.strong.Add(1)
	return Rc[T]{in: in, rec: track(in.track, "Rc", "Upgrade")}, true
}

// Clone returns a new RcWeak handle to the same value.
func (w RcWeak[T]) Clone() RcWeak[T] {
	in := w.in
	if in == nil {
		return RcWeak[T]{}
	}
	return RcWeak[T]{in: in, rec: cloneRef[T](&in.weak, true, w.rec, in.track, "RcWeak")}
}

// Release gives w up and zeroes it; releasing a zero RcWeak does nothing,
// and a release past zero panics.
func (w *RcWeak[T]) Release() {
	in, rec := w.in, w.rec
	if in == nil {
		return
	}
	*w = RcWeak[T]{}
	dropRef[T](&in.weak, true, rec, in.track, "RcWeak")
}

// StrongCount returns the number of strong handles, 0 once the value is
// destroyed (or for a zero RcWeak).
func (w RcWeak[T]) StrongCount() int {
	if w.in == nil {
		return 0
	}
	return int(w.in.strong.Load())
}

// WeakCount returns the number of RcWeak handles (0 for a zero RcWeak).
func (w RcWeak[T]) WeakCount() int {
	if w.in == nil {
		return 0
	}
	return int(w.in.weak.Load())
}

// IsZero reports whether w holds nothing.
func (w RcWeak[T]) IsZero() bool { return w.in == nil }
