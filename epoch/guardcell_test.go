package epoch_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/go-reclaim/reclaim/epoch"
)

const exitedTwice = "epoch: Exit through a guard that has already exited"

// forEachEnter runs f with c's pooled Enter and with a Handle's, then
// closes c.
func forEachEnter(t *testing.T, c *epoch.Collector, f func(name string, enter func() *epoch.Guard)) {
	h := c.Register()
	f("pooled", c.Enter)
	f("Handle", h.Enter)
	h.Unregister()
	require.NoError(t, c.Close())
}

// requireStaleCaught opens a guard and checks that stale, exited, still
// panics on Exit and leaves that live guard open.
func requireStaleCaught(t *testing.T, c *epoch.Collector, name string, enter func() *epoch.Guard, stale *epoch.Guard) {
	t.Helper()
	live := enter()
	require.PanicsWithValue(t, exitedTwice, stale.Exit, name)
	require.Panics(t, func() { epoch.Retire(stale, new(int), noop) }, name)
	require.Equal(t, 1, c.Stats().Guards, "%s: the stale Exit closed the live guard", name)
	epoch.Retire(live, new(int), noop)
	live.Exit()
	require.Zero(t, c.Stats().Guards, name)
}

// A guard used after its Exit panics even when the slot has opened another
// guard since (the pooled slot comes back from the per-P cache, a Handle's
// slot is the same): the outermost guard alternates between two cells, and
// without cells each Enter's Guard is new. The live guard is untouched.
func TestStaleGuardAfterReentryPanics(t *testing.T) {
	c := newCollector(epoch.WithBatchSize(1))
	forEachEnter(t, c, func(name string, enter func() *epoch.Guard) {
		stale := enter()
		stale.Exit()
		requireStaleCaught(t, c, name, enter, stale)
	})
}

// Nested guards of a Handle may exit in any order: a guard entered after
// the outer one exited, while an inner one is still open, gets a cell of
// its own, and each Exit closes only its guard.
func TestNestedGuardsExitInAnyOrder(t *testing.T) {
	c := newCollector()
	h := c.Register()
	outer := h.Enter()
	inner := h.Enter()
	outer.Exit()
	third := h.Enter()
	require.NotSame(t, inner, third)
	inner.Exit()
	require.PanicsWithValue(t, exitedTwice, inner.Exit)
	require.Equal(t, 1, c.Stats().Guards, "the slot stays pinned while third is open")
	epoch.Retire(third, new(int), noop)
	third.Exit()
	require.Zero(t, c.Stats().Guards)
	require.PanicsWithValue(t, exitedTwice, third.Exit)
	require.PanicsWithValue(t, exitedTwice, outer.Exit)

	// The cells come back: nesting again reuses them and works the same.
	for range 3 {
		a, b := h.Enter(), h.Enter()
		require.NotSame(t, a, b)
		b.Exit()
		a.Exit()
	}
	require.Zero(t, c.Stats().Guards)
	h.Unregister()
	require.NoError(t, c.Close())
}

// With WithGuardTracking every Enter returns a new Guard, so a guard used
// after its Exit panics however many guards the slot has opened since.
func TestTrackingCatchesEveryStaleGuard(t *testing.T) {
	c := newCollector(epoch.WithGuardTracking())
	forEachEnter(t, c, func(name string, enter func() *epoch.Guard) {
		stale := enter()
		stale.Exit()
		for range 5 { // an odd count: the next guard would reuse stale's cell
			enter().Exit()
		}
		requireStaleCaught(t, c, name, enter, stale)
	})
}

// Refresh does not shift the cells: after a guard that refreshed exits,
// the next guard on its slot takes the other cell, and a second Exit of
// the first still panics. (Enter chooses the cell by the parity of the pin
// count, and Refresh, which counts a new guard for Stats, counts two: one
// would hand the next guard the cell just exited.)
func TestExitTwiceAfterRefreshPanics(t *testing.T) {
	c := newCollector()
	forEachEnter(t, c, func(name string, enter func() *epoch.Guard) {
		g := enter()
		epoch.Retire(g, new(int), noop)
		c.Flush() // moves the epoch, so that Refresh re-pins
		g.Refresh()
		g.Exit()
		requireStaleCaught(t, c, name, enter, g)
	})
}

// A nested guard used after its Exit panics even after the Handle has
// nested another guard: cells of nested guards are not handed out again
// at once.
func TestStaleNestedGuardPanics(t *testing.T) {
	c := newCollector()
	h := c.Register()
	outer := h.Enter()
	for range 3 { // once the cells circulate too
		a := h.Enter()
		a.Exit()
		b := h.Enter()
		require.NotSame(t, a, b)
		require.PanicsWithValue(t, exitedTwice, a.Exit)
		b.Exit()
	}
	outer.Exit()
	require.Zero(t, c.Stats().Guards)
	h.Unregister()
	require.NoError(t, c.Close())
}

// An Enter that fails on a closed collector hands out no cell, and the
// next guard still takes the cell the last one did not: here a free
// function run by Close enters through a Handle whose last guard exited
// before the failed Enter, and that guard's second Exit still panics.
func TestFailedEnterKeepsCellsAlternating(t *testing.T) {
	c := newCollector()
	h := c.Register()
	last := h.Enter()
	last.Exit()
	open := c.Enter() // keeps the first Close from finishing
	var ran bool
	epoch.Retire(open, new(int), func(*int) {
		ran = true
		g := h.Enter() // allowed while Close runs free functions
		require.PanicsWithValue(t, exitedTwice, last.Exit)
		require.True(t, c.Stats().Guards >= 1, "the stale Exit closed the live guard")
		g.Exit()
	})
	require.ErrorIs(t, c.Close(), epoch.ErrGuardsOpen)
	require.PanicsWithValue(t, "epoch: Enter on a closed Collector", func() { h.Enter() })
	open.Exit()
	require.NoError(t, c.Close())
	require.True(t, ran)
}
