package epoch

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// In the robust mode a batch tagged with the very era Barrier read after
// its flush was sealed after the flush (tags are unique), so Barrier must
// not wait for it: here a guard that enters after the flush holds such a
// batch for the whole Barrier.
func TestRobustBarrierDoesNotWaitForLaterRetires(t *testing.T) {
	c := New(WithRobust(), WithBatchSize(1), WithMaxBatchAge(0))
	h := c.Register() // an idle slot: Barrier's flush claims it and runs the hook
	claimed := make(chan struct{}, 1)
	testHookClaimed = func(*slot) {
		select {
		case claimed <- struct{}{}:
		default:
		}
	}
	defer func() { testHookClaimed = nil }()
	c.reclaiming.Store(true) // a sweep in progress elsewhere keeps Barrier waiting
	done := make(chan error)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	go func() { done <- c.Barrier(ctx) }()
	<-claimed
	time.Sleep(20 * time.Millisecond) // Barrier has read the era after its flush
	stalled := c.Enter()              // enters at that era, after Barrier began
	g := h.Enter()
	Retire(g, new(int), func(*int) {}) // sealed with that era as its tag
	g.Exit()
	c.reclaiming.Store(false)
	require.NoError(t, <-done, "Barrier waited for an object retired after it began")
	stalled.Exit()
	h.Unregister()
	require.NoError(t, c.Close())
}
