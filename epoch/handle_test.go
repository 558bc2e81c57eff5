package epoch_test

import (
	"context"
	"runtime"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/go-reclaim/reclaim/epoch"
)

// A guard nested in another of the same Handle keeps the slot pinned when
// the outer one exits first: what was retired after the nested guard
// entered is not reclaimed before it exits.
func TestOuterExitKeepsNestedGuardPinned(t *testing.T) {
	c := newCollector(epoch.WithBatchSize(1))
	h := c.Register()
	for range 2 { // both outermost cells in use: Exit's common case applies to outer
		h.Enter().Exit()
	}
	outer := h.Enter()
	inner := h.Enter()
	outer.Exit()
	require.Equal(t, 1, c.Stats().Guards)
	var freed atomic.Bool
	g := c.Enter()
	epoch.Retire(g, new(int), func(*int) { freed.Store(true) })
	g.Exit()
	for range 4 {
		c.Flush()
	}
	require.False(t, freed.Load(), "reclaimed while a guard nested in the exited one was open")
	inner.Exit()
	require.Zero(t, c.Stats().Guards)
	require.NoError(t, c.Barrier(context.Background()))
	require.True(t, freed.Load())
	h.Unregister()
	require.NoError(t, c.Close())
}

// A Handle's slot, once unregistered, serves pooled guards like any other:
// their Exits give it back, so the registry does not grow. (With guard
// tracking every Exit takes its slow path, which reads the slot's mark.)
func TestUnregisteredSlotServesPooledGuards(t *testing.T) {
	for _, opts := range [][]epoch.Option{nil, {epoch.WithGuardTracking()}} {
		c := newCollector(opts...)
		for range 10 {
			c.Register().Unregister()
			for range 100 {
				a := c.Enter() // the P's home or spare slot
				b := c.Enter() // another: the unregistered one, from the free list or a cell
				b.Exit()
				a.Exit()
			}
		}
		require.LessOrEqual(t, c.Stats().Slots, 3*runtime.GOMAXPROCS(0)+2, "options %v", opts)
		require.NoError(t, c.Close())
	}
}

// An Enter on a closed collector gives its pooled slot back before it
// panics.
func TestEnterOnClosedCollectorKeepsNoSlot(t *testing.T) {
	c := newCollector()
	c.Enter().Exit()
	require.NoError(t, c.Close())
	slots := c.Stats().Slots
	for range 100 {
		require.PanicsWithValue(t, "epoch: Enter on a closed Collector", func() { c.Enter() })
	}
	require.LessOrEqual(t, c.Stats().Slots, slots+runtime.GOMAXPROCS(0))
}
