//go:build race

package queue

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/go-reclaim/reclaim/container/internal/yield"
	"github.com/go-reclaim/reclaim/epoch"
)

// TestRobustDequeueRechecksHeadAfterProtect: a robust Dequeue loads the
// head h and its successor n, and only then protects n; n is in the queue
// only while h is the head, so once protected it must check the head
// again. At the yield point between the load of n and its protection
// (point 3: points 1 and 2 come before the head's reservation and before
// the load of n), a
// writer dequeues n's value, which retires h and leaves the queue empty
// (the era moves, so the reader's protection has to raise). A Dequeue that
// skipped the head check would go on reading n.value, a value another
// goroutine already took, fail its CAS and, the queue now empty, report
// (that value, false); the correct one restarts and reports (0, false).
//
// (Whether n is reclaimed in that window cannot be driven from here: n was
// born before the reader's reservation. TestRobustDequeueReservesSuccessor
// links n after the reservation.)
func TestRobustDequeueRechecksHeadAfterProtect(t *testing.T) {
	c := epoch.New(epoch.WithRobust(), epoch.WithBatchSize(1), epoch.WithMaxBatchAge(0))
	q := NewEpoch[int](c)
	w := c.Register()
	write := func(f func(g *epoch.Guard)) {
		g := w.Enter()
		defer g.Exit()
		f(g)
	}
	write(func(g *epoch.Guard) { q.Enqueue(g, 7) }) // D -> N7

	points := 0
	yield.Hook = func() {
		points++
		if points != 3 {
			return
		}
		yield.Hook = nil
		defer func() { yield.Hook = func() { points++ } }()
		write(func(g *epoch.Guard) {
			v, ok := q.Dequeue(g) // retires D: the era moves
			require.True(t, ok)
			require.Equal(t, 7, v)
		})
		c.Flush()
	}
	reader := c.Enter()
	var v int
	var ok bool
	func() {
		defer func() { yield.Hook = nil }()
		v, ok = q.Dequeue(reader)
	}()
	reader.Exit()
	require.GreaterOrEqual(t, points, 4, "the dequeuer did not restart")
	require.False(t, ok, "the value was dequeued twice")
	require.Zero(t, v, "the dequeuer read the successor of a head it no longer held")
	w.Unregister()
	require.NoError(t, c.Close())
}

// TestDequeueThatLosesReportsNoValue: a Dequeue reads the value of the
// head's successor before its compare-and-swap. When another dequeuer takes
// that value first and leaves the queue empty, the loser must report (0,
// false), not the value it read and lost (it did: the read went into the
// result it returned for an empty queue).
func TestDequeueThatLosesReportsNoValue(t *testing.T) {
	var q GC[int]
	q.Enqueue(7)
	points := 0
	yield.Hook = func() {
		points++
		if points != 4 { // before and after the load of the successor, before and (the 4th) after the read of its value
			return
		}
		yield.Hook = nil
		defer func() { yield.Hook = func() { points++ } }()
		v, ok := q.Dequeue()
		require.True(t, ok)
		require.Equal(t, 7, v)
	}
	var v int
	var ok bool
	func() {
		defer func() { yield.Hook = nil }()
		v, ok = q.Dequeue()
	}()
	require.GreaterOrEqual(t, points, 5, "the losing dequeuer did not restart")
	require.False(t, ok, "the value was dequeued twice")
	require.Zero(t, v, "a Dequeue that found the queue empty returned a value another dequeuer took")
}
