package workload

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// A run's pending figure is the scheme's under that run's load, not what
// earlier runs on the same instance left behind. Before Run flushed the
// instance, the first samples of a run at one goroutine after a run at 4
// counted the batches the four goroutines had left (tens of thousands of
// nodes), and a report showed them as the one-goroutine figure. The
// sampler reads pending once as the run starts, after the flush, so a run
// of a few operations must show at most what it retired itself: no more
// nodes than it made operations, however the scheme batches and fences.
func TestPendingIsTheRunsOwn(t *testing.T) {
	v, ok := stackStructure.Variant(EpochPool)
	require.True(t, ok)
	const keys = 1024
	inst := v.New(Options{Capacity: stackStructure.Capacity(keys, 4)})
	defer func() { require.NoError(t, inst.Close()) }()
	cfg := Config{Structure: stackStructure, Keys: keys, Duration: 100 * time.Millisecond, Seed: 1}
	Prefill(inst, cfg)

	cfg.Goroutines = 4
	_, err := Run(inst, cfg)
	require.NoError(t, err)
	// Leave batches behind for certain: a worker that goes away after
	// popping what it pushed while a guard elsewhere kept them pending.
	const popped = 1000
	held := inst.Collector.Enter()
	w := inst.NewWorker()
	for k := range uint64(popped) {
		w.Insert(k)
		require.True(t, w.Delete(k))
	}
	w.Close()
	held.Exit()
	left := inst.Pending()
	require.GreaterOrEqual(t, left, uint64(popped))

	const ops = 100
	cfg.Goroutines, cfg.Duration, cfg.OpsPerWorker = 1, 0, ops
	one, err := Run(inst, cfg)
	require.NoError(t, err)
	require.LessOrEqual(t, one.Pending.Peak, uint64(ops),
		"a run of %d operations after a run that left %d pending", ops, left)
}
