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

// A fresh fence that read the clock before a shared one started does not
// move the newest start back: that would let the next shared fence start
// before the gap has passed since the newer one.
func TestSharedFenceStartNeverGoesBack(t *testing.T) {
	var s Shared
	var counter atomic.Uint64
	s.SetLastStart(math.MaxInt64) // a fence "started" later than any clock reading
	counter.Store(1)
	require.EqualValues(t, 1, s.Fence(&counter, 0, true), "fresh: a fence of its own")
	counter.Store(2)
	require.EqualValues(t, 1, s.Fence(&counter, 0, false),
		"the newest start is still the later one: no shared fence within its gap")
}
