package refcount_test

// Weak and RcWeak: Upgrade against the
// destructor (from inside it and racing with it), and the weak count's
// independence from the strong one.

import (
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/go-reclaim/reclaim/refcount"
)

// Once the destructor has begun, Upgrade fails and a Weak's StrongCount
// reads 0, even on the goroutine that runs it, inside it: the count is
// marked (Arc) or zero (Rc) before the destructor is called. Deterministic,
// so a destructor run before the mark (or before Rc's decrement) is caught
// every time.
func TestUpgradeInsideDestructorFails(t *testing.T) {
	eachKit(t,
		func(t *testing.T) { testUpgradeInsideDestructor(t, arcKit) },
		func(t *testing.T) { testUpgradeInsideDestructor(t, rcKit) })
}

func testUpgradeInsideDestructor[H, W any](t *testing.T, k kit[H, W]) {
	for _, viaClone := range []bool{false, true} {
		var w W
		runs, upgraded, strongInside := 0, false, -1
		a := k.make(7, func(p *int) {
			runs++
			require.Equal(t, 7, *p, "the destructor sees the value")
			strongInside = k.strongCount(w)
			if h, ok := k.upgrade(w); ok {
				upgraded = true
				k.release(&h)
			}
		})
		w = k.downgrade(a)
		last := a
		if viaClone { // the last release is of a clone, not of the first handle
			last = k.clone(a)
			k.release(&a)
		}
		k.release(&last)
		require.Equal(t, 1, runs)
		require.False(t, upgraded, "Upgrade succeeded inside the destructor")
		require.Zero(t, strongInside, "StrongCount inside the destructor")
		require.Zero(t, k.strongCount(w))
		_, ok := k.upgrade(w)
		require.False(t, ok)
		require.Equal(t, 1, k.weakCount(w), "the destructor leaves the weak count alone")
		k.weakRelease(&w)
	}
}

// The weak count is only the number of Weak handles: it may reach zero and
// rise again while strong handles use the value, which stays intact, and a
// new Downgrade then works as the first did.
func TestWeakCountZeroWhileStrongLive(t *testing.T) {
	eachKit(t,
		func(t *testing.T) { testWeakCountZero(t, arcKit) },
		func(t *testing.T) { testWeakCountZero(t, rcKit) })
}

func testWeakCountZero[H, W any](t *testing.T, k kit[H, W]) {
	var c counter
	a := k.make(3, c.destroy)
	for range 3 {
		w := k.downgrade(a)
		w2 := k.weakClone(w)
		require.Equal(t, 2, k.weakOf(a))
		k.weakRelease(&w)
		k.weakRelease(&w2)
		require.Zero(t, k.weakOf(a))
		require.Zero(t, c.runs(), "releasing every weak handle destroyed the value")
		require.Equal(t, 3, *k.value(a), "releasing every weak handle touched the value")
		require.Equal(t, 1, k.strongOf(a))
	}
	w := k.downgrade(a)
	h, ok := k.upgrade(w)
	require.True(t, ok)
	k.release(&a)
	require.Zero(t, c.runs())
	require.Equal(t, 3, *k.value(h))
	k.release(&h)
	require.EqualValues(t, 1, c.runs())
	k.weakRelease(&w)
}

// Weak handles are made, cloned and released concurrently with Upgrades
// and with the last strong release: an Upgrade that succeeds finds the
// destructor not begun, the destructor runs once, and the weak count ends
// exact. The destructor flags its start before it does anything, and
// yields, so that an Upgrade after the start has a chance to be seen.
func TestWeakHandlesRaceLastRelease(t *testing.T) {
	eachMode(t, func(t *testing.T) {
		rounds := 300
		if refcount.Tracking() {
			rounds = 30
		}
		for range rounds {
			var began, runs atomic.Int32
			a := refcount.NewArc(1, func(p *int) {
				began.Store(1)
				runtime.Gosched()
				runs.Add(1)
			})
			observer := a.Downgrade()
			start := make(chan struct{})
			var wg sync.WaitGroup
			for g := range 2 {
				h, w := a.Clone(), a.Downgrade()
				wg.Go(func() {
					<-start
					defer w.Release()
					for i := 0; ; i++ {
						w2 := w.Clone()
						if g == 0 && i%2 == 0 {
							// swap the roles of the two weak handles
							w, w2 = w2, w
						}
						h.Release()
						up, ok := w2.Upgrade()
						w2.Release()
						if !ok {
							return
						}
						if began.Load() != 0 {
							t.Error("Upgrade succeeded after the destructor began")
							up.Release()
							return
						}
						h = up
						if i > 50 {
							h.Release()
							return
						}
					}
				})
			}
			a.Release()
			close(start)
			wg.Wait()
			require.EqualValues(t, 1, runs.Load())
			require.Zero(t, observer.StrongCount())
			require.Equal(t, 1, observer.WeakCount(), "weak count after the workers released theirs")
			observer.Release()
		}
	})
}
