//go:build !race

// The race detector's sync.Pool drops items at random, so allocation counts
// are only meaningful without it; .ci/run runs these tests separately.

package refcount_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/go-reclaim/reclaim/refcount"
)

func TestAllocsSteadyState(t *testing.T) {
	a := refcount.NewArc(1, nil)
	defer a.Release()
	w := a.Downgrade()
	defer w.Release()
	r := refcount.NewRc(1, nil)
	defer r.Release()
	var s refcount.AtomicArc[int]
	s.Store(a.Clone())
	defer s.Store(refcount.Arc[int]{})

	warm := func(f func()) float64 {
		for range 10000 {
			f()
		}
		return testing.AllocsPerRun(10000, f)
	}
	require.Zero(t, warm(func() {
		c := a.Clone()
		c.Release()
	}), "Arc Clone+Release")
	require.Zero(t, warm(func() {
		c, _ := w.Upgrade()
		c.Release()
	}), "Weak Upgrade+Release")
	require.Zero(t, warm(func() {
		c := r.Clone()
		c.Release()
	}), "Rc Clone+Release")
	require.Zero(t, warm(func() {
		c := s.Load()
		c.Release()
	}), "AtomicArc Load+Release")
	require.Zero(t, warm(func() {
		g := s.Borrow()
		_ = *g.Value()
		g.Release()
	}), "AtomicArc Borrow+Release")
	require.Zero(t, warm(func() { s.Store(a.Clone()) }), "AtomicArc Store (retire included)")
	require.Zero(t, warm(func() {
		old := s.Swap(a.Clone())
		old.Release()
	}), "AtomicArc Swap")
	require.Zero(t, warm(func() {
		old := s.RCU(func(*int) refcount.Arc[int] { return a.Clone() })
		old.Release()
	}), "AtomicArc RCU (update allocates nothing)")
}
