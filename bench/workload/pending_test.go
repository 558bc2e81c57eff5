package workload

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/go-reclaim/reclaim/epoch"
)

// A run's pending figure is the scheme's under that run's load, not what
// earlier runs on the same instance left behind: after a run at 4
// goroutines, a run at one goroutine on the epoch-pool stack shows what one
// Handle holds, as the same stack driven directly with one Handle does (an
// open batch and a sealed one waiting for its grace period: 2 x 64). Before
// Run flushed the instance, the first samples of the second run counted the
// batches the four goroutines had left (tens of thousands of nodes), and a
// report showed them as the one-goroutine figure.
func TestPendingIsTheRunsOwn(t *testing.T) {
	v, ok := stackStructure.Variant(EpochPool)
	require.True(t, ok)
	const keys = 1024
	inst := v.New(Options{Capacity: stackStructure.Capacity(keys, 4)})
	defer func() { require.NoError(t, inst.Close()) }()
	cfg := Config{Structure: stackStructure, Keys: keys, Duration: 100 * time.Millisecond, Seed: 1}
	Prefill(inst, cfg)

	cfg.Goroutines = 4
	before, err := Run(inst, cfg)
	require.NoError(t, err)
	cfg.Goroutines, cfg.Duration = 1, 30*time.Millisecond
	one, err := Run(inst, cfg)
	require.NoError(t, err)

	// Stats reads its counters one at a time while the worker retires, so a
	// sample may run a little past the two batches.
	bound := uint64(4 * epoch.DefaultBatchSize)
	require.LessOrEqual(t, one.Pending.Peak, bound,
		"one goroutine's peak pending after a 4-goroutine run that peaked at %d", before.Pending.Peak)
}
