package refcount_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/go-reclaim/reclaim/refcount"
)

func TestAtomicArcZeroValueIsEmpty(t *testing.T) {
	var s refcount.AtomicArc[int]
	require.True(t, s.Load().IsZero())
	g := s.Borrow()
	require.True(t, g.IsZero())
	require.Nil(t, g.Value())
	require.True(t, g.Clone().IsZero())
	g.Release()
	require.True(t, s.Swap(refcount.Arc[int]{}).IsZero())
	require.True(t, s.CompareAndSwap(refcount.Arc[int]{}, refcount.Arc[int]{}))
}

func TestAtomicArcStoreLoad(t *testing.T) {
	eachMode(t, func(t *testing.T) {
		var c counter
		s := refcount.NewAtomicArc(refcount.NewArc(1, c.destroy))
		a := s.Load()
		require.Equal(t, 1, *a.Value())
		require.Equal(t, 2, a.StrongCount(), "the slot's reference and the loaded one")
		g := s.Borrow()
		require.Equal(t, 1, *g.Value())
		g.Release()
		g.Release() // a second Release of a Guard does nothing
		require.True(t, g.IsZero())

		s.Store(refcount.Arc[int]{})
		barrier(t)
		require.Zero(t, c.runs(), "the loaded handle keeps the value alive")
		require.Equal(t, 1, a.StrongCount())
		a.Release()
		require.EqualValues(t, 1, c.runs())
	})
}

func TestAtomicArcSwap(t *testing.T) {
	eachMode(t, func(t *testing.T) {
		var c1, c2 counter
		var s refcount.AtomicArc[int]
		s.Store(refcount.NewArc(1, c1.destroy))
		old := s.Swap(refcount.NewArc(2, c2.destroy))
		require.Equal(t, 1, *old.Value())
		barrier(t)
		require.Equal(t, 1, old.StrongCount(), "once the slot's reference is released only the returned handle counts")
		old.Release()
		require.EqualValues(t, 1, c1.runs())

		last := s.Swap(refcount.Arc[int]{})
		require.Equal(t, 2, *last.Value())
		require.Zero(t, c2.runs(), "the returned handle keeps the value alive")
		last.Release()
		barrier(t)
		require.EqualValues(t, 1, c2.runs())
	})
}

func TestAtomicArcCompareAndSwap(t *testing.T) {
	eachMode(t, func(t *testing.T) {
		var c1, c2, c3 counter
		var s refcount.AtomicArc[int]
		require.True(t, s.CompareAndSwap(refcount.Arc[int]{}, refcount.NewArc(1, c1.destroy)), "zero old matches the empty slot")
		cur := s.Load()

		// Failure: the slot holds cur, not other. new is taken and released.
		other := refcount.NewArc(3, c3.destroy)
		require.False(t, s.CompareAndSwap(other, refcount.NewArc(2, c2.destroy)))
		require.EqualValues(t, 1, c2.runs(), "a failed CompareAndSwap releases new")
		keep := refcount.NewArc(2, c2.destroy)
		require.False(t, s.CompareAndSwap(refcount.Arc[int]{}, keep.Clone()))
		require.Equal(t, 1, keep.StrongCount())
		keep.Release()

		// Success: identity, not value, is compared.
		require.True(t, s.CompareAndSwap(cur, other.Clone()))
		barrier(t)
		require.Equal(t, 1, cur.StrongCount(), "old is still the caller's; the slot's reference is released")
		cur.Release()
		require.EqualValues(t, 1, c1.runs())
		got := s.Load()
		require.True(t, got.Same(other))
		got.Release()
		other.Release()
		s.Store(refcount.Arc[int]{})
		barrier(t)
		require.EqualValues(t, 1, c3.runs())
	})
}

// A Guard keeps the value it borrowed from being destroyed when a writer
// replaces it, and Barrier waits for the Guard: the slot's reference is
// released only once the Guard is gone, never at the Store.
func TestBorrowHoldsBackReplacedValue(t *testing.T) {
	eachMode(t, func(t *testing.T) {
		var c counter
		var s refcount.AtomicArc[int]
		s.Store(refcount.NewArc(10, c.destroy))
		g := s.Borrow()

		s.Store(refcount.NewArc(20, nil))
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		defer cancel()
		require.ErrorIs(t, refcount.Barrier(ctx), context.DeadlineExceeded, "Barrier must wait for the Guard")
		require.Zero(t, c.runs(), "destroyed while borrowed")
		require.Equal(t, 10, *g.Value())

		kept := g.Clone() // a strong handle taken under the borrow outlives it
		g.Release()
		barrier(t)
		require.Zero(t, c.runs())
		require.Equal(t, 10, *kept.Value())
		kept.Release()
		require.EqualValues(t, 1, c.runs())
		s.Store(refcount.Arc[int]{})
		barrier(t)
	})
}

func TestStoreOfTheValueAlreadyHeld(t *testing.T) {
	var c counter
	s := refcount.NewAtomicArc(refcount.NewArc(1, c.destroy))
	cur := s.Load()
	s.Store(cur.Clone())
	barrier(t)
	require.Equal(t, 2, cur.StrongCount())
	cur.Release()
	s.Store(refcount.Arc[int]{})
	barrier(t)
	require.EqualValues(t, 1, c.runs())
}

// A destructor run by the hazard domain may itself Store into an AtomicArc
// (a value that owns a slot of its own).
func TestDestructorStoresIntoAtomicArc(t *testing.T) {
	var inner counter
	var child refcount.AtomicArc[int]
	child.Store(refcount.NewArc(2, inner.destroy))
	var s refcount.AtomicArc[int]
	s.Store(refcount.NewArc(1, func(*int) { child.Store(refcount.Arc[int]{}) }))
	s.Store(refcount.Arc[int]{})
	barrier(t)
	barrier(t)
	require.EqualValues(t, 1, inner.runs())
}

// A destructor that panics while the hazard domain releases the slot's
// reference panics out of the call that ran it; the value counts as
// destroyed and the AtomicArcs keep working.
func TestDestructorPanicReachesBarrier(t *testing.T) {
	var s refcount.AtomicArc[int]
	s.Store(refcount.NewArc(1, func(*int) { panic("boom") }))
	// The release runs in the Store, unless the hazard domain's aging timer
	// took the reference in the middle of it: its panic is then raised
	// again by a later Barrier.
	if msg := panicMessage(func() { s.Store(refcount.Arc[int]{}) }); msg != "" {
		require.Equal(t, "boom", msg)
	} else {
		require.Eventually(t, func() bool {
			return panicMessage(func() { _ = refcount.Barrier(context.Background()) }) != ""
		}, 10*time.Second, time.Millisecond)
	}
	barrier(t)

	var c counter
	s.Store(refcount.NewArc(2, c.destroy))
	s.Store(refcount.Arc[int]{})
	barrier(t)
	require.EqualValues(t, 1, c.runs())
}
