package refcount_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/go-reclaim/reclaim/internal/race"
	"github.com/go-reclaim/reclaim/refcount"
)

// A count that has reached zero never rises again, also through an
// AtomicArc: when the AtomicArc's reference is released through a copy of
// the handle given to it (the misuse that untracked handles catch only
// below zero), Load, RCU, a Guard's Clone and Swap panic instead of
// raising the count, so a Weak cannot upgrade the destroyed value and its
// destructor does not run twice. (An independent review found Load, Clone
// and Swap raising it.)
func TestAtomicArcDoesNotResurrectADestroyedValue(t *testing.T) {
	if refcount.Tracking() {
		t.Skip("with tracking, the release through the copy panics first (TestTrackedUseAfterStore)")
	}
	const msg = "refcount: AtomicArc.%s of Arc[int] after zero: its value was already destroyed while the AtomicArc held it (a copy of the handle given to the AtomicArc was released)"
	for _, tc := range []struct {
		op  string
		use func(s *refcount.AtomicArc[int])
	}{
		{"Load", func(s *refcount.AtomicArc[int]) { s.Load() }},
		{"RCU", func(s *refcount.AtomicArc[int]) {
			s.RCU(func(*int) refcount.Arc[int] { return refcount.NewArc(2, nil) })
		}},
		{"Borrow's Guard.Clone", func(s *refcount.AtomicArc[int]) {
			g := s.Borrow()
			defer g.Release()
			g.Clone()
		}},
		{"Swap", func(s *refcount.AtomicArc[int]) { s.Swap(refcount.Arc[int]{}) }},
	} {
		t.Run(tc.op, func(t *testing.T) {
			var c counter
			a := refcount.NewArc(1, c.destroy)
			w := a.Downgrade()
			defer w.Release()
			copied := a // a copy, not a Clone: the misuse
			var s refcount.AtomicArc[int]
			s.Store(a)
			copied.Release() // the AtomicArc's reference: the destructor runs
			require.EqualValues(t, 1, c.runs())
			op := tc.op
			if race.Enabled && op == "Borrow's Guard.Clone" {
				op = "Borrow" // under -race Borrow itself checks the count
			}
			require.Contains(t, panicMessage(func() { tc.use(&s) }), fmt.Sprintf(msg, op))
			_, ok := w.Upgrade()
			require.False(t, ok, "a Weak upgraded the destroyed value")
			require.Zero(t, w.StrongCount())
			require.EqualValues(t, 1, c.runs(), "the destructor ran again")
		})
	}
}

// An AtomicArc refuses to publish a value that was already destroyed (a
// copy of a released handle), as Clone through the copy does.
func TestAtomicArcRefusesADestroyedValue(t *testing.T) {
	if refcount.Tracking() {
		t.Skip("with tracking, the handle's record reports the use after Release")
	}
	const msg = "refcount: AtomicArc.%s of Arc[int] after zero: its value was already destroyed (this is a copy of a released handle)"
	var c counter
	a := refcount.NewArc(7, c.destroy)
	copied := a
	a.Release()
	var s refcount.AtomicArc[int]
	require.Contains(t, panicMessage(func() { s.Store(copied) }), fmt.Sprintf(msg, "Store"))
	require.Contains(t, panicMessage(func() { s.Swap(copied) }), fmt.Sprintf(msg, "Swap"))
	require.Contains(t, panicMessage(func() { s.CompareAndSwap(refcount.Arc[int]{}, copied) }), fmt.Sprintf(msg, "CompareAndSwap"))
	require.True(t, s.Load().IsZero(), "the AtomicArc published the destroyed value")
	require.EqualValues(t, 1, c.runs())
}

// With tracking, CompareAndSwap's comparand is a use of that handle: one
// already moved into the AtomicArc panics, and new stays the caller's. A
// new that a failed CompareAndSwap released is reported as released so,
// not as moved into the AtomicArc.
func TestTrackedCompareAndSwapChecksOld(t *testing.T) {
	tracked(t)
	x := refcount.NewArc(1, nil)
	var s refcount.AtomicArc[int]
	s.Store(x) // x is given up: moved into s
	y := refcount.NewArc(2, nil)
	require.Contains(t, panicMessage(func() { s.CompareAndSwap(x, y) }),
		"refcount: CompareAndSwap of Arc[int] handle already given up by moving it into an AtomicArc with Store")
	cur := s.Load()
	require.False(t, s.CompareAndSwap(refcount.Arc[int]{}, y), "s is not empty")
	require.Contains(t, panicMessage(func() { y.Clone() }),
		"refcount: Clone of Arc[int] handle already given up by CompareAndSwap (failed, released)")
	cur.Release()
	s.Store(refcount.Arc[int]{})
	barrier(t)
}
