//go:build race

package queue

import (
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/go-reclaim/reclaim/container/internal/yield"
	"github.com/go-reclaim/reclaim/epoch"
)

// TestRobustEnqueueReservesItsTail is TestEnqueueHoldsItsTail for
// the Epoch queue on a robust Collector, where a guard protects only what
// its reservation covers. The enqueuer's first tail is stale, so it helps
// and reloads the tail: the node it then holds, N3, was born after the
// enqueuer's reservation (the writer advanced the era in between). At the
// fourth yield point (each tail load has one before its reservation and
// one after) the writer dequeues past N3, flushes and drains the
// pool. If the reload did not reserve (a plain Load in place of
// epoch.Load), N3 is reclaimed and comes back zeroed, its next nil, and
// the enqueuer links its value after a node that is not in the queue:
// lost.
func TestRobustEnqueueReservesItsTail(t *testing.T) {
	c := epoch.New(epoch.WithRobust(), epoch.WithBatchSize(1), epoch.WithMaxBatchAge(0))
	reclaimed := map[*node[int]]bool{} // written by the Flush in the hook, on this goroutine
	q := &Epoch[int]{robust: true, c: c, pool: epoch.NewPool(c,
		epoch.OnReclaim(func(n *node[int]) { reclaimed[n] = true }))}
	w := c.Register()
	write := func(f func(g *epoch.Guard)) {
		g := w.Enter()
		defer g.Exit()
		f(g)
	}
	deq := func(want int) {
		write(func(g *epoch.Guard) {
			v, ok := q.Dequeue(g)
			require.True(t, ok)
			require.Equal(t, want, v)
		})
	}
	write(func(g *epoch.Guard) { q.Enqueue(g, 1) }) // D -> N1, tail N1

	var n3 *node[int]
	var grabbed []*node[int]
	points := 0
	var hook func()
	hook = func() {
		points++
		if points != 2 && points != 4 {
			return
		}
		yield.Hook = nil
		defer func() { yield.Hook = hook }()
		switch points {
		case 2: // the reader holds t = N1, reserved
			write(func(g *epoch.Guard) { q.Enqueue(g, 0) }) // N1 -> N0
			deq(1)                                          // retires D: a seal, the era moves
			write(func(g *epoch.Guard) { q.Enqueue(g, 0) }) // a second era step
			deq(0)
			write(func(g *epoch.Guard) { q.Enqueue(g, 3) }) // N3, born after the reader's reservation
			n3 = q.q.tail.Load()
		case 4: // the reader has reloaded the tail: N3 (it helped the tail on from N1 first)
			require.Same(t, n3, q.q.tail.Load())
			deq(0)
			deq(3)
			write(func(g *epoch.Guard) { q.Enqueue(g, 4) }) // N3 -> N4
			deq(4)                                          // retires N3
			c.Flush()
			c.Flush()
			write(func(g *epoch.Guard) {
				for range 32 {
					grabbed = append(grabbed, q.pool.Get(g)) // recycled nodes first
				}
			})
		}
	}

	reader := c.Enter()
	yield.Hook = hook
	func() {
		defer func() { yield.Hook = nil }()
		q.Enqueue(reader, 2)
	}()
	reader.Exit()
	require.GreaterOrEqual(t, points, 4, "the enqueuer did not reload the tail")
	require.False(t, reclaimed[n3], "the tail node the enqueuer reloaded was reclaimed under it")
	require.False(t, slices.Contains(grabbed, n3), "the tail node the enqueuer reloaded was recycled under it")
	write(func(g *epoch.Guard) {
		v, ok := q.Dequeue(g)
		require.True(t, ok, "the value enqueued across the window was lost")
		require.Equal(t, 2, v)
		_, ok = q.Dequeue(g)
		require.False(t, ok)
	})
	w.Unregister()
	require.NoError(t, c.Close())
}
