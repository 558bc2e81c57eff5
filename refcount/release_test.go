package refcount_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/go-reclaim/reclaim/refcount"
)

// Issue 12, item 9: a write releases the reference the AtomicArc held to
// the value it replaced before it returns when no hazard pointer protects
// that value (as arc-swap does), instead of leaving it in a batch until 64
// more writes or a Barrier. With no other handle, the destructor has run
// when the write returns.
//
// These tests run on one goroutine. The one other goroutine that releases
// slot references is the hazard domain's aging timer: if it fires in the
// middle of a write, between the write's Retire and its scan, its own scan
// may take the reference and release it a moment after the write returns.
// So each check is tried up to ten times and must succeed once (see
// atOnce); code that leaves the reference for later fails every try.

// atOnce runs try up to ten times, until it reports that every write it
// made released what it replaced before returning. Between tries it waits
// for the aging timer's reclamation with Barrier. try reports violations
// of safety (a value destroyed too early, or not exactly once) with
// t.Error itself.
func atOnce(t *testing.T, try func() bool) {
	t.Helper()
	for range 10 {
		if try() {
			return
		}
		barrier(t)
	}
	t.Fatal("no try saw the write release the value it replaced before returning")
}

// exactlyOnce fails t unless each counter counts one destructor run, after
// a Barrier.
func exactlyOnce(t *testing.T, cs ...*counter) {
	t.Helper()
	barrier(t)
	for i, c := range cs {
		if n := c.runs(); n != 1 {
			t.Errorf("value %d destroyed %d times", i, n)
		}
	}
}

func TestWriteReleasesReplacedValueAtOnce(t *testing.T) {
	// Each write replaces the value s holds, whose destructor counts into
	// c, and reports whether that value was destroyed when the write
	// returned; s must then still hold a value.
	writes := []struct {
		name  string
		write func(t *testing.T, s *refcount.AtomicArc[int], c *counter) bool
	}{
		{"Store", func(t *testing.T, s *refcount.AtomicArc[int], c *counter) bool {
			s.Store(refcount.NewArc(1, nil))
			return c.runs() == 1
		}},
		{"Swap", func(t *testing.T, s *refcount.AtomicArc[int], c *counter) bool {
			old := s.Swap(refcount.NewArc(1, nil))
			only := old.StrongCount() == 1 // the slot's reference is gone
			old.Release()
			return only && c.runs() == 1
		}},
		{"CompareAndSwap", func(t *testing.T, s *refcount.AtomicArc[int], c *counter) bool {
			cur := s.Load()
			require.True(t, s.CompareAndSwap(cur, refcount.NewArc(1, nil)))
			only := cur.StrongCount() == 1
			cur.Release()
			return only && c.runs() == 1
		}},
		{"RCU", func(t *testing.T, s *refcount.AtomicArc[int], c *counter) bool {
			old := s.RCU(func(v *int) refcount.Arc[int] { return refcount.NewArc(*v+1, nil) })
			only := old.StrongCount() == 1
			old.Release()
			return only && c.runs() == 1
		}},
		// A reader that took a handle before the Store holds the value; its
		// Release is the last one (the ExampleAtomicArc pattern).
		{"Store with a reader's handle", func(t *testing.T, s *refcount.AtomicArc[int], c *counter) bool {
			held := s.Load()
			s.Store(refcount.NewArc(1, nil))
			if c.runs() != 0 {
				t.Error("destroyed while a reader held a handle")
			}
			held.Release()
			return c.runs() == 1
		}},
	}
	for _, w := range writes {
		t.Run(w.name, func(t *testing.T) {
			eachMode(t, func(t *testing.T) {
				atOnce(t, func() bool {
					var c, last counter
					s := refcount.NewAtomicArc(refcount.NewArc(0, c.destroy))
					ok := w.write(t, s, &c)
					s.Store(refcount.NewArc(2, last.destroy))
					s.Store(refcount.Arc[int]{})
					ok = ok && last.runs() == 1 // emptying s released its value
					exactlyOnce(t, &c, &last)
					return ok
				})
			})
		})
	}
}

// borrowThenReplace returns an AtomicArc whose first value, 1, counted by
// c, is borrowed by g and then replaced by a Store.
func borrowThenReplace(t *testing.T, c *counter) (*refcount.AtomicArc[int], *refcount.Guard[int]) {
	t.Helper()
	s := refcount.NewAtomicArc(refcount.NewArc(1, c.destroy))
	g := new(refcount.Guard[int])
	*g = s.Borrow()
	s.Store(refcount.NewArc(2, nil))
	require.Zero(t, c.runs(), "destroyed while borrowed")
	require.Equal(t, 1, *g.Value())
	return s, g
}

// A Guard that borrows the value when it is replaced holds the slot's
// reference back; once the Guard is released, the hazard domain's aging
// timer releases it without any further call, or the next write to any
// AtomicArc does.
func TestGuardHoldsBackReplacedValueUntilReleased(t *testing.T) {
	eachMode(t, func(t *testing.T) {
		var c1 counter
		s, g := borrowThenReplace(t, &c1)
		g.Release()
		require.Eventually(t, c1.destroyed, 10*time.Second, time.Millisecond,
			"the aging timer releases the reference once the Guard is gone")
		s.Store(refcount.Arc[int]{})
		exactlyOnce(t, &c1)

		atOnce(t, func() bool {
			var c counter
			s, g := borrowThenReplace(t, &c)
			g.Release()
			var other refcount.AtomicArc[int]
			other.Store(refcount.NewArc(3, nil))
			other.Store(refcount.Arc[int]{}) // a write to any AtomicArc flushes
			ok := c.runs() == 1
			s.Store(refcount.Arc[int]{})
			exactlyOnce(t, &c)
			return ok
		})
	})
}

// A destructor that panics inside a write's release propagates out of the
// write, after the write took effect. Swap then releases the handle it
// would have returned, so the value it replaced is not leaked.
func TestSwapReleasesItsResultWhenADestructorPanics(t *testing.T) {
	eachMode(t, func(t *testing.T) {
		atOnce(t, func() bool {
			var bomb refcount.AtomicArc[int]
			bomb.Store(refcount.NewArc(1, func(*int) { panic("boom") }))
			g := bomb.Borrow()
			bomb.Store(refcount.Arc[int]{}) // held back by g
			g.Release()

			var cv, cw counter
			s := refcount.NewAtomicArc(refcount.NewArc(2, cv.destroy))
			msg := panicMessage(func() {
				old := s.Swap(refcount.NewArc(3, cw.destroy)) // its release runs bomb's destructor
				old.Release()
			})
			if msg == "" {
				// The aging timer ran bomb's destructor: a later Barrier
				// raises its panic again.
				require.Eventually(t, func() bool {
					return panicMessage(func() { _ = refcount.Barrier(context.Background()) }) != ""
				}, 10*time.Second, time.Millisecond)
			}
			got := s.Load()
			require.Equal(t, 3, *got.Value(), "the Swap took effect")
			got.Release()
			s.Store(refcount.Arc[int]{})
			exactlyOnce(t, &cv, &cw) // cv: Swap released its result
			return msg != ""
		})
	})
}

// Issue 12, item 10: Barrier called by a goroutine that itself holds a
// Guard on a replaced value waits for that Guard, so it returns only when
// its context ends (documented on Barrier and Guard; the behaviour is
// unchanged). A context that has already ended makes this deterministic.
func TestBarrierWhileHoldingOwnGuardEndsWithContext(t *testing.T) {
	eachMode(t, func(t *testing.T) {
		var c counter
		s, g := borrowThenReplace(t, &c)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		require.ErrorIs(t, refcount.Barrier(ctx), context.Canceled, "Barrier waits for the caller's own Guard")
		require.Zero(t, c.runs())
		require.Equal(t, 1, *g.Value())
		g.Release()
		s.Store(refcount.Arc[int]{})
		exactlyOnce(t, &c)
	})
}
