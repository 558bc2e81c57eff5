package refcount

// Weak is a handle that does not keep the value alive, like Rust's
// sync::Weak<T>: Upgrade returns a strong handle while some strong handle
// remains, and fails for good once the last one has been released. Make
// one with Arc.Downgrade.
//
// Upgrade never resurrects a destroyed value, even racing with the last
// Release: the count is sticky at zero. Upgrade adds one to it; the
// release that takes it to zero marks it with a compare-and-swap, and
// destroys the value only if that succeeds. An Upgrade between that
// release's add and its mark makes the mark fail and takes the last
// reference (as if it had come first); one after the mark fails, and no
// increment, not even a Clone through a copy of a released handle, ever
// raises a marked count, so once the destructor has started every Upgrade
// fails. A successful
// Upgrade is synchronized after the NewArc of the value and before its
// destructor.
//
// Like an Arc, a Weak is a small value; Clone makes a new handle, and each
// handle must be released once (a Weak that is never released costs
// nothing but is reported by Find when tracking is on). Different handles
// may be used concurrently. The zero Weak never upgrades, and releasing it
// does nothing.
type Weak[T any] struct {
	in  *arcInner[T]
	rec *record
}

// Upgrade returns a new strong handle and true if the value has not been
// destroyed, or the zero Arc and false if it has (or w is zero).
func (w Weak[T]) Upgrade() (Arc[T], bool) {
	in := w.in
	if in == nil {
		return Arc[T]{}, false
	}
	w.rec.use("Upgrade")
	if !in.incStrong() {
		return Arc[T]{}, false
	}
	return Arc[T]{in: in, rec: track(in.track, "Arc", "Upgrade")}, true
}

// Clone returns a new Weak handle to the same value. It panics if w is a
// copy of a Weak handle that was already released and no other is live.
func (w Weak[T]) Clone() Weak[T] {
	in := w.in
	if in == nil {
		return Weak[T]{}
	}
	return Weak[T]{in: in, rec: cloneRef[T](&in.weak, true, w.rec, in.track, "Weak")}
}

// Release gives w up and zeroes it; releasing a zero Weak does nothing. A
// release past zero panics like Arc.Release.
func (w *Weak[T]) Release() {
	in, rec := w.in, w.rec
	if in == nil {
		return
	}
	*w = Weak[T]{}
	dropRef[T](&in.weak, true, rec, in.track, "Weak")
}

// StrongCount returns the number of strong references to the value, 0
// once it is destroyed (or for a zero Weak), and only then: after a 0,
// every Upgrade fails. A snapshot: a positive count does not promise that
// a later Upgrade succeeds.
func (w Weak[T]) StrongCount() int {
	if w.in == nil {
		return 0
	}
	return w.in.strongCount()
}

// WeakCount returns the number of Weak handles to the value (0 for a zero
// Weak), a snapshot.
func (w Weak[T]) WeakCount() int {
	if w.in == nil {
		return 0
	}
	return int(w.in.weak.Load())
}

// IsZero reports whether w holds nothing.
func (w Weak[T]) IsZero() bool { return w.in == nil }
