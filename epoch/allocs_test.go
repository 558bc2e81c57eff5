//go:build !race

// The race detector's sync.Pool drops items at random, so allocation counts
// are only meaningful without it; .ci/run runs these tests separately.

package epoch_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/go-reclaim/reclaim/epoch"
)

func TestAllocsSteadyState(t *testing.T) {
	c := newCollector()
	defer c.Close()
	h := c.Register()
	defer h.Unregister()
	pool := epoch.NewPool[item](c)
	obj := new(int)
	warm := func(f func()) float64 {
		for range 10000 {
			f()
		}
		return testing.AllocsPerRun(10000, f)
	}

	require.Zero(t, warm(func() { c.Enter().Exit() }), "Enter+Exit")
	require.Zero(t, warm(func() { h.Enter().Exit() }), "Handle Enter+Exit")
	require.Zero(t, warm(func() {
		g := c.Enter()
		epoch.Retire(g, obj, noop)
		g.Exit()
	}), "Retire")
	require.Zero(t, warm(func() {
		g := c.Enter()
		g.Defer(func() {})
		g.Exit()
	}), "Defer of a static function")
	require.Zero(t, warm(func() {
		g := h.Enter()
		pool.Retire(g, pool.Get(g))
		g.Refresh()
		g.Exit()
	}), "Pool Get+Retire")
}

// withGuard is the helper users write around a guard: the *Guard escapes
// into a function value the compiler cannot see through, so a Guard on the
// heap would cost an allocation per Enter.
//
//go:noinline
func withGuard(enter func() *epoch.Guard, f func(*epoch.Guard)) {
	g := enter()
	defer g.Exit()
	f(g)
}

var keepGuard *epoch.Guard

func TestAllocsEnterThroughHelper(t *testing.T) {
	c := newCollector()
	defer c.Close()
	h := c.Register()
	defer h.Unregister()
	use := func(g *epoch.Guard) { keepGuard = g } // escapes for certain
	nested := func(g *epoch.Guard) { withGuard(h.Enter, use) }
	warm := func(f func()) float64 {
		for range 1000 {
			f()
		}
		return testing.AllocsPerRun(10000, f)
	}
	require.Zero(t, warm(func() { withGuard(c.Enter, use) }), "Collector.Enter")
	require.Zero(t, warm(func() { withGuard(h.Enter, use) }), "Handle.Enter")
	require.Zero(t, warm(func() { withGuard(h.Enter, nested) }), "a nested Handle.Enter")
	keepGuard = nil
}
