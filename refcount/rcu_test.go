package refcount_test

import (
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/go-reclaim/reclaim/refcount"
)

// RCU computes the new value from the current one, stores it and returns
// the one it replaced; update sees nil for an empty AtomicArc, and the zero
// Arc it returns empties the AtomicArc.
func TestRCUReplacesTheValueUpdateSaw(t *testing.T) {
	eachMode(t, func(t *testing.T) {
		var c1, c2 counter
		var s refcount.AtomicArc[int]
		old := s.RCU(func(cur *int) refcount.Arc[int] {
			require.Nil(t, cur, "s is empty")
			return refcount.NewArc(1, c1.destroy)
		})
		require.True(t, old.IsZero())

		old = s.RCU(func(cur *int) refcount.Arc[int] { return refcount.NewArc(*cur+1, c2.destroy) })
		require.Equal(t, 1, *old.Value())
		got := s.Load()
		require.Equal(t, 2, *got.Value())
		got.Release()
		old.Release()
		barrier(t)
		require.EqualValues(t, 1, c1.runs())

		old = s.RCU(func(cur *int) refcount.Arc[int] {
			require.Equal(t, 2, *cur)
			return refcount.Arc[int]{}
		})
		require.True(t, s.Load().IsZero(), "the zero Arc empties s")
		old.Release()
		barrier(t)
		require.EqualValues(t, 1, c2.runs())
	})
}

// When another write gets in between the load and the CompareAndSwap, RCU
// releases what update returned (its destructor runs at once: RCU held its
// only handle) and calls update again with the value now held.
func TestRCURetriesAndReleasesFailedAttempts(t *testing.T) {
	eachMode(t, func(t *testing.T) {
		var c1, c10, attempt1, attempt2 counter
		s := refcount.NewAtomicArc(refcount.NewArc(1, c1.destroy))
		var saw []int
		old := s.RCU(func(cur *int) refcount.Arc[int] {
			saw = append(saw, *cur)
			if len(saw) == 1 {
				s.Store(refcount.NewArc(10, c10.destroy)) // a writer gets in first
				return refcount.NewArc(*cur+1, attempt1.destroy)
			}
			return refcount.NewArc(*cur+1, attempt2.destroy)
		})
		require.Equal(t, []int{1, 10}, saw)
		require.EqualValues(t, 1, attempt1.runs(), "the failed attempt's Arc is released by RCU")
		require.Zero(t, attempt2.runs())
		require.Equal(t, 10, *old.Value(), "RCU returns the value it replaced")
		old.Release()
		got := s.Load()
		require.Equal(t, 11, *got.Value())
		got.Release()
		s.Store(refcount.Arc[int]{})
		barrier(t)
		require.EqualValues(t, 1, c1.runs())
		require.EqualValues(t, 1, c10.runs())
		require.EqualValues(t, 1, attempt2.runs())
	})
}

// A panic in update leaves the AtomicArc as it was and lets go of the value
// RCU loaded (with tracking on, the cleanup finds no live handle).
func TestRCUUpdatePanics(t *testing.T) {
	eachMode(t, func(t *testing.T) {
		var c counter
		s := refcount.NewAtomicArc(refcount.NewArc(1, c.destroy))
		require.PanicsWithValue(t, "update failed", func() {
			s.RCU(func(*int) refcount.Arc[int] { panic("update failed") })
		})
		got := s.Load()
		require.Equal(t, 1, *got.Value())
		require.Equal(t, 2, got.StrongCount(), "the slot's reference and got: RCU released its own")
		got.Release()
		s.Store(refcount.Arc[int]{})
		barrier(t)
		require.EqualValues(t, 1, c.runs())
	})
}

// rcuValue is a counter value whose destruction is counted per value.
type rcuValue struct {
	n         int
	destroyed *atomic.Int32
}

// rcuLedger makes rcuValues and remembers each one's destruction count.
type rcuLedger struct {
	mu   sync.Mutex
	made []*atomic.Int32
}

func (l *rcuLedger) make(n int) refcount.Arc[rcuValue] {
	d := new(atomic.Int32)
	l.mu.Lock()
	l.made = append(l.made, d)
	l.mu.Unlock()
	return refcount.NewArc(rcuValue{n: n, destroyed: d}, func(v *rcuValue) { v.destroyed.Add(1) })
}

// Goroutines increment a counter with RCU at once (a start gate makes them
// overlap): the final value is the number of increments, each RCU returns
// the value its successful update saw, and after Barrier every value ever
// made (replaced ones, and those of failed attempts) has been destroyed
// exactly once. Some updates yield, so that other RCUs get in between their
// load and their CompareAndSwap even on one processor.
func TestRCUConcurrentCounter(t *testing.T) {
	eachMode(t, func(t *testing.T) {
		goroutines, increments := 4, 2000
		if refcount.Tracking() {
			increments = 300 // each tracked operation takes a lock
		}
		var l rcuLedger
		var s refcount.AtomicArc[rcuValue]
		s.Store(l.make(0))
		start := make(chan struct{})
		var wg sync.WaitGroup
		for range goroutines {
			wg.Go(func() {
				<-start
				for range increments {
					saw := -1
					old := s.RCU(func(cur *rcuValue) refcount.Arc[rcuValue] {
						if cur.destroyed.Load() != 0 {
							t.Error("update saw a destroyed value")
						}
						saw = cur.n
						if saw%4 == 0 {
							runtime.Gosched() // let another RCU get in between
						}
						return l.make(cur.n + 1)
					})
					if old.Value().n != saw {
						t.Errorf("RCU returned %d, its update saw %d", old.Value().n, saw)
					}
					old.Release()
				}
			})
		}
		close(start)
		wg.Wait()
		final := s.Swap(refcount.Arc[rcuValue]{})
		require.Equal(t, goroutines*increments, final.Value().n, "increments lost or applied twice")
		final.Release()
		barrier(t)
		l.mu.Lock()
		defer l.mu.Unlock()
		require.GreaterOrEqual(t, len(l.made), goroutines*increments+1)
		t.Logf("%d values made for %d increments", len(l.made), goroutines*increments)
		for i, d := range l.made {
			if n := d.Load(); n != 1 {
				t.Fatalf("value %d of %d destroyed %d times", i, len(l.made), n)
			}
		}
	})
}
