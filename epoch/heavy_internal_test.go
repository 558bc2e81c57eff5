package epoch

import (
	"math"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/go-reclaim/reclaim/internal/fence"
)

// skipUnlessAsymmetric skips tests of the shared heavy fence where there is
// none to share.
func skipUnlessAsymmetric(t *testing.T) {
	if !fence.Asymmetric {
		t.Skip("heavy fences are shared only with asymmetric fences (not under -race or RECLAIM_FENCE=sc); CI runs this test without -race")
	}
}

// A Pool seal advances the epoch from e only with a heavy fence that began
// once the epoch was e: an older one may have run before the unlinks of
// the batches sealed at e-1, whose grace period the advance ends, and then
// orders nothing for them. A fresh fence (Retire, Flush, Barrier, Close)
// always may advance.
func TestSharedFenceMustBeginAtTheEpoch(t *testing.T) {
	skipUnlessAsymmetric(t)
	c := New(WithMaxBatchAge(0))
	defer func() { require.NoError(t, c.Close()) }()

	c.sharedHeavy(true)
	c.heavyGap.Store(math.MaxInt64) // no seal starts a fence of its own during the test
	e := c.epoch.Load()
	require.GreaterOrEqual(t, c.heavyFrom.Load(), e)

	require.True(t, c.tryAdvance(false), "the newest fence began at epoch e: a seal advances with it")
	require.Equal(t, e+1, c.epoch.Load())
	require.False(t, c.tryAdvance(false), "the newest fence began before the epoch reached e+1: a seal must not advance with it")
	require.Equal(t, e+1, c.epoch.Load())

	require.True(t, c.tryAdvance(true), "a fresh fence always may advance")
	require.Equal(t, e+2, c.epoch.Load())
	require.GreaterOrEqual(t, c.heavyFrom.Load(), e+1)
	require.LessOrEqual(t, c.heavyGap.Load(), int64(heavyGapMax), "each fence sets the gap anew, within its bounds")
	require.GreaterOrEqual(t, c.heavyGap.Load(), int64(0))
}

// Once the gap has passed, a seal starts a fence of its own and advances:
// seals alone keep the epoch moving.
func TestSealStartsAFenceOnceTheGapHasPassed(t *testing.T) {
	skipUnlessAsymmetric(t)
	c := New(WithMaxBatchAge(0))
	defer func() { require.NoError(t, c.Close()) }()

	e := c.epoch.Load()
	for i := range uint64(3) {
		c.heavyAt.Store(0) // the last fence started long ago
		require.True(t, c.tryAdvance(false), "advance %d", i)
		require.Equal(t, e+i, c.heavyFrom.Load(), "the seal's own fence began at the epoch it advanced from")
		require.Equal(t, e+i+1, c.epoch.Load())
	}
}
