package queue

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// An enqueuer that linked its node and stalled before swinging the tail
// leaves the tail one node behind. A dequeue must advance the tail before
// the head passes it: otherwise the tail would point at the retired dummy,
// and a later enqueue could link after a reused node.
func TestDequeueHelpsLaggingTail(t *testing.T) {
	var q core[int]
	q.start()
	dummy := q.tail.Load()
	n := &node[int]{value: 1}
	require.True(t, dummy.next.CompareAndSwap(nil, n)) // the stalled enqueue
	v, old, ok := q.dequeue(nil)
	require.True(t, ok)
	require.Equal(t, 1, v)
	require.Same(t, dummy, old)
	require.Same(t, n, q.head.Load())
	require.Same(t, n, q.tail.Load(), "tail left behind the head")
}
