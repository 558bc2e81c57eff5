package refcount

import "reflect"

// What Clone and Release do to a count, shared by the handle types. The
// counts of Arc and Weak are atomic.Int64, those of Rc and RcWeak
// plainCount; Arc's own hot paths use the atomic directly.

// counter is a reference count: *atomic.Int64 or *plainCount.
type counter interface {
	Add(delta int64) (new int64)
}

// plainCount is a non-atomic count, for the handles of one goroutine.
type plainCount int64

func (c *plainCount) Add(delta int64) int64 {
	*c += plainCount(delta)
	return int64(*c)
}

func (c *plainCount) Load() int64 { return int64(*c) }

// cloneRef takes one more reference on c for a Clone through the handle
// whose record is rec (nil if untracked), and returns the new handle's
// record. If c was zero, the handle is a copy of a released one: it
// restores c and panics.
func cloneRef[T any](c counter, weak bool, rec *record, t *objTrack, kind string) *record {
	rec.use("Clone")
	if c.Add(1) <= 1 {
		c.Add(-1)
		cloneAfterZero(typeName[T](kind), gone(weak), t.zeroAt(weak))
	}
	return track(t, kind, "Clone")
}

// dropRef gives up one reference on c for a Release through the handle
// whose record is rec, and reports whether it was the last. Below zero it
// restores c and panics.
func dropRef[T any](c counter, weak bool, rec *record, t *objTrack, kind string) (last bool) {
	rec.end("Release")
	n := c.Add(-1)
	if n > 0 {
		return false
	}
	if n < 0 {
		c.Add(1)
		pastZero(typeName[T](kind), gone(weak), t.zeroAt(weak))
	}
	t.reachedZero(weak)
	return true
}

// downgradeRef takes a weak reference on weak for a Downgrade through the
// strong handle whose record is rec, and returns the weak handle's record.
func downgradeRef(weak counter, rec *record, t *objTrack, kind string) *record {
	rec.use("Downgrade")
	weak.Add(1)
	return track(t, kind, "Downgrade")
}

func gone(weak bool) string {
	if weak {
		return "every weak handle was already released"
	}
	return "its value was already destroyed"
}

// pastZero panics for a release that took a count below zero: a copy of a
// handle that was already released was released again. zeroAt is where the
// count reached zero, nil for an untracked value (the message then says
// how to get it).
func pastZero(handle, what string, zeroAt stack) {
	panic("refcount: Release of " + handle + " past zero: " + what +
		" (a copy of a released handle was released again)\n\nthis release:\n" + callers().String() +
		"\nthe release that reached zero:\n" + zeroAt.String())
}

func cloneAfterZero(handle, what string, zeroAt stack) {
	afterZero("Clone", handle, what, "this is a copy of a released handle", zeroAt)
}

// afterZero panics for op on a handle whose count had reached zero: what
// says what is gone, why which misuse led there, zeroAt is as for pastZero.
func afterZero(op, handle, what, why string, zeroAt stack) {
	panic("refcount: " + op + " of " + handle + " after zero: " + what +
		" (" + why + ")\n\nthe release that reached zero:\n" + zeroAt.String())
}

func typeName[T any](kind string) string {
	return kind + "[" + reflect.TypeFor[T]().String() + "]"
}
