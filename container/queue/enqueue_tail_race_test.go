//go:build race

package queue

import (
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/go-reclaim/reclaim/container/internal/yield"
	"github.com/go-reclaim/reclaim/hazard"
)

// TestEnqueueHoldsItsTail takes another goroutine's steps inside the
// window of Hazard.Enqueue between the load of the tail node t and the
// compare-and-swap on t.next (enqueue's yield point): the node t is
// dequeued past (retired), the domain is flushed and the pool is drained.
// t must stay unreclaimed while the enqueuer protects it; if it were
// recycled, it would come back zeroed (next nil), the enqueuer's CAS on
// its next link would succeed, and the value would be linked after a node
// that is not in the queue: lost.
func TestEnqueueHoldsItsTail(t *testing.T) {
	d := hazard.New()
	q := NewHazard[int](d)
	reader, writer := d.AcquireArray(HazardPointers), d.AcquireArray(HazardPointers)
	defer func() {
		reader.Release()
		writer.Release()
		require.NoError(t, d.Close())
	}()

	q.Enqueue(writer, 1) // dummy D -> N1(1), tail N1
	n1 := q.q.tail.Load()
	var grabbed []*node[int]
	points, stepped := 0, false
	var hook func()
	hook = func() {
		points++
		if points != 1 { // point 1: the reader has loaded and protected t = N1
			return
		}
		yield.Hook = nil
		defer func() { yield.Hook = hook }()
		stepped = true
		require.Same(t, n1, q.q.tail.Load())
		v, ok := q.Dequeue(writer) // retires D; head N1
		require.True(t, ok)
		require.Equal(t, 1, v)
		q.Enqueue(writer, 3)      // N1 -> N3, tail N3
		v, ok = q.Dequeue(writer) // retires N1; head N3
		require.True(t, ok)
		require.Equal(t, 3, v)
		d.Flush() // reclaims every retired node that no hazard pointer holds
		for range 8 {
			grabbed = append(grabbed, q.pool.Get()) // recycled nodes first, zeroed
		}
	}
	yield.Hook = hook
	func() {
		defer func() { yield.Hook = nil }()
		q.Enqueue(reader, 2)
	}()
	require.True(t, stepped)
	require.False(t, slices.Contains(grabbed, n1), "the tail node the enqueuer protected was recycled under it")
	v, ok := q.Dequeue(writer)
	require.True(t, ok, "the value enqueued across the window was lost")
	require.Equal(t, 2, v)
	_, ok = q.Dequeue(writer)
	require.False(t, ok)
}
