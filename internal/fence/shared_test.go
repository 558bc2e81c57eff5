package fence

import (
	"math"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"
)

// A shared fence reports the counter as it was before the newest fence
// that completed: a fresh call always runs one, a shared call only once
// the gap has passed since the last one started, and From never goes back.
func TestSharedFence(t *testing.T) {
	var s Shared
	var counter atomic.Uint64
	require.Zero(t, s.From(), "no fence yet")

	counter.Store(5)
	require.EqualValues(t, 5, s.Fence(&counter, math.MaxInt64, true), "fresh: a fence of its own")
	require.GreaterOrEqual(t, s.Duration(), int64(0))

	counter.Store(9)
	require.EqualValues(t, 5, s.Fence(&counter, math.MaxInt64, false), "within the gap: the last fence's")
	s.SetLastStart(math.MinInt64 / 2)
	require.EqualValues(t, 9, s.Fence(&counter, 0, false), "the gap has passed: a new fence")

	s.SetLastStart(math.MinInt64 / 2)
	counter.Store(3) // a counter read before an older fence's never lowers From
	require.EqualValues(t, 9, s.Fence(&counter, 0, false))
	require.EqualValues(t, 9, s.From())

	gap := s.Gap()
	require.GreaterOrEqual(t, gap, MinGap)
	require.LessOrEqual(t, gap, MaxGap)
}
