package epoch_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/go-reclaim/reclaim/epoch"
)

// A retired object counts as pending from the moment Retire is called, not
// when its batch fills.
func TestPendingCountsFromRetire(t *testing.T) {
	c := newCollector(epoch.WithMaxBatchAge(0))
	pool := epoch.NewPool[closeNode](c)
	g := c.Enter()
	epoch.Retire(g, new(int), func(*int) {})
	g.Defer(func() {})
	pool.Retire(g, pool.Get(g))
	g.Exit()
	st := c.Stats()
	require.Equal(t, uint64(3), st.Retired)
	require.Equal(t, uint64(3), st.Pending)
	require.NoError(t, c.Close())
	st = c.Stats()
	require.Equal(t, uint64(3), st.Reclaimed)
	require.Zero(t, st.Pending)
}

// The README's config example: the writer retires the old config and goes
// away. With the default options the old config is closed within a
// bounded delay, with no Barrier and no other activity.
func TestRetiredObjectAgesOut(t *testing.T) {
	c := newCollector()
	defer func() { require.NoError(t, c.Close()) }()
	var closed atomic.Bool
	g := c.Enter()
	epoch.Retire(g, new(int), func(*int) { closed.Store(true) })
	g.Exit()
	waitUntil(t, "the aged batch is reclaimed", closed.Load)
	// A sweep counts what it reclaimed once its free functions have run
	// (CI saw Pending 1 just after the free function).
	waitUntil(t, "the aged batch counts as reclaimed", func() bool { return c.Stats().Pending == 0 })
}

// An open guard holds the aged object back; once it exits, aging reclaims
// the object without any further call.
func TestAgingWaitsForGuards(t *testing.T) {
	c := newCollector(epoch.WithMaxBatchAge(time.Millisecond))
	defer func() { require.NoError(t, c.Close()) }()
	var closed atomic.Bool
	reader := c.Enter()
	g := c.Enter()
	epoch.Retire(g, new(int), func(*int) { closed.Store(true) })
	g.Exit()
	time.Sleep(20 * time.Millisecond) // many ticks, all held back by reader
	require.False(t, closed.Load(), "reclaimed while a guard that could hold it was open")
	reader.Exit()
	waitUntil(t, "the aged batch is reclaimed after the reader exits", closed.Load)
}

// With aging off, a partial batch waits for Flush: Collector.Flush after
// the writer's guard exits reclaims at once when no guard is open.
func TestFlushReclaimsPromptly(t *testing.T) {
	c := newCollector(epoch.WithMaxBatchAge(0))
	closed := 0
	g := c.Enter()
	epoch.Retire(g, new(int), func(*int) { closed++ })
	g.Flush() // seals, but g itself could hold the object
	require.Zero(t, closed)
	g.Exit()
	require.Zero(t, closed, "aging is off: nothing runs on its own")
	c.Flush()
	require.Equal(t, 1, closed)
	require.Zero(t, c.Stats().Pending)
	require.NoError(t, c.Close())
}

// Flush never waits: with a guard open it returns at once and reclaims
// nothing that guard could hold.
func TestFlushDoesNotWait(t *testing.T) {
	c := newCollector(epoch.WithMaxBatchAge(0))
	open := c.Enter()
	closed := 0
	g := c.Enter()
	epoch.Retire(g, new(int), func(*int) { closed++ })
	g.Exit()
	c.Flush()
	require.Zero(t, closed)
	require.Equal(t, uint64(1), c.Stats().Pending)
	open.Exit()
	c.Flush()
	require.Equal(t, 1, closed)
	require.NoError(t, c.Close())
}

// A free function that panics on the aging timer's goroutine cannot reach
// a caller there; the next Flush, Barrier or Close re-raises it, and the
// Collector stays usable.
func TestAgingTimerPanicReachesACaller(t *testing.T) {
	c := newCollector(epoch.WithMaxBatchAge(time.Millisecond))
	var ran atomic.Bool
	g := c.Enter()
	epoch.Retire(g, new(int), func(*int) { ran.Store(true); panic("free failed") })
	g.Exit()
	waitUntil(t, "the timer runs the free function", ran.Load)
	waitUntil(t, "Flush re-raises the timer's panic", func() (raised bool) {
		defer func() {
			if r := recover(); r != nil {
				require.Equal(t, "free failed", r)
				raised = true
			}
		}()
		c.Flush()
		return false
	})
	require.NoError(t, c.Barrier(context.Background()))
	require.NoError(t, c.Close())
}

func TestWithMaxBatchAgeRejectsNegative(t *testing.T) {
	require.PanicsWithValue(t, "epoch: WithMaxBatchAge(-1s): the age must not be negative",
		func() { epoch.WithMaxBatchAge(-time.Second) })
}

// Pool nodes age out like other retired objects: OnReclaim runs without a
// Barrier, and Collector.Flush reclaims them at once.
func TestPoolNodesAgeOut(t *testing.T) {
	c := newCollector(epoch.WithMaxBatchAge(time.Millisecond))
	var ran atomic.Int32
	pool := epoch.NewPool(c, epoch.OnReclaim(func(*closeNode) { ran.Add(1) }))
	g := c.Enter()
	pool.Retire(g, pool.Get(g))
	g.Exit()
	waitUntil(t, "the aged Pool node is reclaimed", func() bool { return ran.Load() == 1 })
	require.Zero(t, c.Stats().Pending)

	c2 := newCollector(epoch.WithMaxBatchAge(0))
	pool2 := epoch.NewPool(c2, epoch.OnReclaim(func(*closeNode) { ran.Add(1) }))
	g = c2.Enter()
	pool2.Retire(g, pool2.Get(g))
	g.Exit()
	c2.Flush()
	require.Equal(t, int32(2), ran.Load(), "Collector.Flush reclaims Pool nodes")
	require.NoError(t, c.Close())
	require.NoError(t, c2.Close())
}

// An OnReclaim that panics reaches a caller (the Retire or Flush that ran
// it, or, from the aging timer, the next Flush) and leaves the Collector
// consistent: nothing pending, no slot stuck, Close returns nil.
func TestPanickingOnReclaimLeavesCollectorConsistent(t *testing.T) {
	c := newCollector(epoch.WithMaxBatchAge(time.Millisecond), epoch.WithBatchSize(2))
	var calls atomic.Int32
	pool := epoch.NewPool(c, epoch.OnReclaim(func(*closeNode) {
		if calls.Add(1) == 1 {
			panic("poison failed")
		}
	}))
	raised := false
	catch := func(op func()) {
		defer func() {
			switch r := recover(); r {
			case nil:
			case "poison failed":
				raised = true
			default:
				panic(r)
			}
		}()
		op()
	}
	for range 3 {
		g := c.Enter()
		for range 3 {
			catch(func() { pool.Retire(g, pool.Get(g)) })
		}
		g.Exit()
	}
	waitUntil(t, "a caller receives the OnReclaim panic", func() bool {
		catch(c.Flush)
		return raised
	})
	g := c.Enter() // no slot stuck in a flush
	g.Exit()
	require.NoError(t, c.Close())
	require.Zero(t, c.Stats().Pending)
}
