package epoch

import (
	"math"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/go-reclaim/reclaim/internal/fence"
	"github.com/go-reclaim/reclaim/internal/fencetest"
)

// A seal advances the epoch from e only with a heavy fence that began once
// the epoch was e: an older one may have run before the unlinks of the
// batches sealed at e-1, whose grace period the advance ends, and then
// orders nothing for them. A fresh fence (Flush, Barrier, Close) always
// may advance.
func TestSharedFenceMustBeginAtTheEpoch(t *testing.T) {
	fencetest.SkipUnlessAsymmetric(t)
	c := New(WithMaxBatchAge(0))
	defer func() { require.NoError(t, c.Close()) }()

	c.sharedHeavy(true)
	c.heavy.SetLastStart(math.MaxInt64) // no seal starts a fence of its own during the test
	e := c.epoch.Load()
	require.GreaterOrEqual(t, c.heavy.From(), e)

	require.True(t, c.tryAdvance(false), "the newest fence began at epoch e: a seal advances with it")
	require.Equal(t, e+1, c.epoch.Load())
	require.False(t, c.tryAdvance(false), "the newest fence began before the epoch reached e+1: a seal must not advance with it")
	require.Equal(t, e+1, c.epoch.Load())

	require.True(t, c.tryAdvance(true), "a fresh fence always may advance")
	require.Equal(t, e+2, c.epoch.Load())
	require.GreaterOrEqual(t, c.heavy.From(), e+1)
	require.LessOrEqual(t, c.gap(), fence.MaxGap, "each fence sets the gap anew, within its bounds")
	require.GreaterOrEqual(t, c.gap(), fence.MinGap)
}

// Once the gap has passed, a seal starts a fence of its own and advances:
// seals alone keep the epoch moving.
func TestSealStartsAFenceOnceTheGapHasPassed(t *testing.T) {
	fencetest.SkipUnlessAsymmetric(t)
	c := New(WithMaxBatchAge(0))
	defer func() { require.NoError(t, c.Close()) }()

	e := c.epoch.Load()
	for i := range uint64(3) {
		c.heavy.SetLastStart(math.MinInt64 / 2) // the last fence started long ago
		require.True(t, c.tryAdvance(false), "advance %d", i)
		require.Equal(t, e+i, c.heavy.From(), "the seal's own fence began at the epoch it advanced from")
		require.Equal(t, e+i+1, c.epoch.Load())
	}
}

// Retire's full batches share fences as Pool seals do: a full batch
// advances the epoch from e with the newest fence only if it began once
// the epoch was e, and otherwise leaves the advance to a later seal or a
// Flush, which runs its own.
func TestRetireSharesFences(t *testing.T) {
	c, retireOne := newSharingCollector(t)
	e := c.epoch.Load()
	retireOne()
	require.Equal(t, e+1, c.epoch.Load(), "the newest fence began at epoch e: the full batch advances with it")
	retireOne()
	require.Equal(t, e+1, c.epoch.Load(), "the newest fence began before the epoch reached e+1: no advance")
	require.EqualValues(t, 2, c.Stats().Pending)

	c.Flush() // fresh fences: two advances, and both batches come free
	require.Zero(t, c.Stats().Pending)
}

// In the robust mode a full batch of Retire shares fences too: its scan
// judges only batches sealed before the newest fence began, and leaves a
// batch sealed after it for a later scan, however free it looks.
func TestRetireSharesFencesRobust(t *testing.T) {
	c, retireOne := newSharingCollector(t, WithRobust())
	retireOne() // its own guard holds it at its seal
	retireOne() // the first batch is free now, but sealed after the newest fence
	require.EqualValues(t, 2, c.Stats().Pending, "a batch sealed after the shared fence is not judged by it")

	c.Flush() // a fresh fence judges both
	require.Zero(t, c.Stats().Pending)
}

// newSharingCollector returns a Collector (with opts) whose every Retire
// fills a batch, after one fresh heavy fence and with no seal starting
// another, and a function that retires one object in a guard of its own.
// It skips the test unless fences are asymmetric.
func newSharingCollector(t *testing.T, opts ...Option) (*Collector, func()) {
	t.Helper()
	fencetest.SkipUnlessAsymmetric(t)
	c := New(append(opts, WithBatchSize(1), WithMaxBatchAge(0))...)
	t.Cleanup(func() { require.NoError(t, c.Close()) })
	c.sharedHeavy(true)
	c.heavy.SetLastStart(math.MaxInt64) // no seal starts a fence of its own during the test
	return c, func() {
		g := c.Enter()
		Retire(g, new(int), func(*int) {})
		g.Exit()
	}
}
