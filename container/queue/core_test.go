package queue

import (
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/go-reclaim/reclaim/epoch"
)

// An enqueuer that linked its node and stalled before swinging the tail
// leaves the tail one node behind. A dequeue must advance the tail before
// the head passes it: otherwise the tail would point at the retired dummy,
// and a later enqueue could link after a reused node.
func TestDequeueHelpsLaggingTail(t *testing.T) {
	var q core[int]
	q.start(new(node[int]))
	dummy := q.tail.Load()
	n := &node[int]{value: 1}
	require.True(t, dummy.next.CompareAndSwap(nil, n)) // the stalled enqueue
	v, old, ok := q.dequeue(protection[int]{})
	require.True(t, ok)
	require.Equal(t, 1, v)
	require.Same(t, dummy, old)
	require.Same(t, n, q.head.Load())
	require.Same(t, n, q.tail.Load(), "tail left behind the head")
}

// On a robust collector the Epoch queue protects as Hazard does: what it
// validates it also reserves. On a classic one it has nothing to do.
func TestEpochProtection(t *testing.T) {
	c := epoch.New(epoch.WithRobust(), epoch.WithBatchSize(1), epoch.WithMaxBatchAge(0))
	q := NewEpoch[int](c)
	w := c.Register()
	advance := func() { // a retire seals a batch, which advances the era
		g := w.Enter()
		defer g.Exit()
		q.Enqueue(g, 0)
		q.Dequeue(g)
	}
	reader := c.Enter()
	advance()
	pr := q.protection(reader)
	require.True(t, pr.validates())
	var src atomic.Pointer[node[int]]
	n := new(node[int])
	src.Store(n)
	require.True(t, pr.protect(1, n, &src))
	require.True(t, reader.Reserve(), "protect left the reservation current")
	advance()
	require.False(t, pr.protect(1, new(node[int]), &src), "src holds another node")
	reader.Exit()
	w.Unregister()
	require.NoError(t, c.Close())

	classic := epoch.New()
	g := classic.Enter()
	require.False(t, NewEpoch[int](classic).protection(g).validates())
	g.Exit()
	require.NoError(t, classic.Close())
}
