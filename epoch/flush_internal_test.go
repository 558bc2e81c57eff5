package epoch

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// A Flush that finds another goroutine sweeping (here: the reclaiming lock
// held for the whole Flush, as the aging timer or a Retire holds it) leaves
// the sweep to that goroutine, which must then sweep once more before it
// lets go: its own sweep judged the batches before Flush flushed and
// advanced. Without that second sweep, what Flush made reclaimable stayed
// pending until the next tick, and the benchmark suite counted it as the
// next run's (a CI failure of bench/workload's TestPendingIsTheRunsOwn).
func TestFlushDuringAnotherSweepIsServedByIt(t *testing.T) {
	for _, robust := range []bool{false, true} {
		opts := []Option{WithBatchSize(4), WithMaxBatchAge(0)}
		if robust {
			opts = append(opts, WithRobust())
		}
		c := New(opts...)
		p := NewPool[int](c)
		h := c.Register()
		freed := 0
		for range 10 {
			g := h.Enter()
			Retire(g, new(int), func(*int) { freed++ })
			p.Retire(g, p.Get(g))
			g.Exit()
		}
		h.Unregister() // its batches wait, open and sealed, in an idle slot

		require.True(t, c.reclaiming.CompareAndSwap(false, true)) // a sweep elsewhere
		c.Flush()
		require.NotZero(t, c.Stats().Pending, "robust=%v: Flush swept under the lock", robust)
		c.unlockSweep() // that sweep ends
		require.Zero(t, c.Stats().Pending, "robust=%v: the sweeper let go without sweeping for Flush", robust)
		require.Equal(t, 10, freed)
		require.NoError(t, c.Close())
	}
}
