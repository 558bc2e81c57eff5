package refcount_test

import (
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/go-reclaim/reclaim/refcount"
)

// Load takes no hazard pointer: a Load whose value is replaced and
// destroyed between its read of the slot and its increment must find the
// count at zero, leave it there and retry with the slot's new value. Here
// every value's only reference is the slot's, so each Store destroys the
// value it replaces at once, and readers Load as fast as the writer
// Stores. A Load that returned the destroyed value would read the
// destructor's mark; one that raised its count from zero would run the
// destructor a second time; one that took the replacement for the misuse
// of a destroyed value still in the slot would panic.
func TestLoadRacingWithTheRelease(t *testing.T) {
	const stores = 50_000
	const destroyedMark = -1
	var made, destroyed atomic.Int64
	destroy := func(v *int) {
		if *v == destroyedMark {
			t.Error("a value was destroyed twice")
		}
		*v = destroyedMark
		destroyed.Add(1)
	}
	fresh := func() refcount.Arc[int] {
		made.Add(1)
		return refcount.NewArc(1, destroy)
	}
	s := refcount.NewAtomicArc(fresh())
	var done atomic.Bool
	var wg sync.WaitGroup
	wg.Go(func() {
		defer done.Store(true)
		for range stores {
			s.Store(fresh())
		}
	})
	for range 3 {
		wg.Go(func() {
			for !done.Load() {
				a := s.Load()
				if v := a.Value(); v == nil || *v != 1 {
					t.Errorf("Load returned %v: a destroyed value, or nothing from a full slot", v)
					return
				}
				a.Release()
			}
		})
	}
	wg.Wait()
	s.Store(refcount.Arc[int]{})
	barrier(t)
	require.Equal(t, made.Load(), destroyed.Load(), "values made and destroyed")
}
