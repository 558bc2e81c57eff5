package hazard

import (
	"math"
	"runtime"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/go-reclaim/reclaim/internal/fencetest"
)

// newUncoveredDomain returns a Domain with one shard (GOMAXPROCS is 1
// until the test ends, so the 64th Retire seals a batch), no aging timer,
// and a shared fence that has just run and will not run again by itself:
// every batch sealed from now on is one that the newest shared fence does
// not cover.
func newUncoveredDomain(t *testing.T, threshold int) *Domain {
	fencetest.SkipUnlessAsymmetric(t)
	procs := runtime.GOMAXPROCS(1)
	d := New(WithThreshold(threshold), WithMaxBatchAge(0))
	t.Cleanup(func() {
		runtime.GOMAXPROCS(procs)
		require.NoError(t, d.Close())
	})
	d.heavy.Fence(&d.seq, 0, true)
	d.heavy.SetLastStart(math.MaxInt64) // no scan of Retire starts a fence of its own
	return d
}

// A scan of Retire judges a batch only by a heavy fence that began after
// the batch was sealed: a shared fence that began before may have run
// before the unlinks of its objects, and then orders nothing for a reader
// that protected one of them. Such a batch stays pending, whole, until a
// fence that began later (here a fresh one) covers it.
func TestRetireScanLeavesBatchesSealedAfterTheSharedFence(t *testing.T) {
	d := newUncoveredDomain(t, 1000)
	freed := 0
	for range batchSize {
		Retire(d, new(int), func(*int) { freed++ })
	}
	require.EqualValues(t, batchSize, d.pending.Load(), "the batch is sealed, and below the threshold no scan ran")

	d.scan(false)
	require.Zero(t, freed, "the newest shared fence began before the batch was sealed: the scan must leave it")
	require.EqualValues(t, batchSize, d.Stats().Pending)

	d.scan(true)
	require.Equal(t, batchSize, freed, "a fresh fence covers the batch, which no hazard pointer protects")
}

// Batches that the newest shared fence does not cover, once they hold
// Threshold objects, make the scan of Retire run a fence of its own: what
// waits for a later fence stays below Threshold (doc.go's bound counts it).
func TestRetireScanFencesWhenUncoveredBatchesReachTheThreshold(t *testing.T) {
	d := newUncoveredDomain(t, batchSize)
	freed := 0
	for range batchSize {
		Retire(d, new(int), func(*int) { freed++ })
	}
	require.Equal(t, batchSize, freed, "the 64th Retire sealed a batch of Threshold objects that no fence covered, and scanned with a fence of its own")
}
