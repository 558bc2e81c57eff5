package main

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/go-reclaim/reclaim/bench/workload"
)

func TestTargetVerdicts(t *testing.T) {
	var set *workload.Structure
	for _, s := range workload.Structures() {
		if s.Name == "set" {
			set = s
		}
	}
	mk := func(sc workload.Scheme, g int, mops, allocs float64) *point {
		v, ok := set.Variant(sc)
		require.True(t, ok)
		return &point{cell: cell{variant: v, keys: set.KeyRanges[0], mix: workload.Mix{Read: 0}}, goroutines: g,
			sum: summary{mops: mops, allocsPerOp: allocs}}
	}
	res := &results{points: []*point{
		mk(workload.GC, 1, 10, 1), mk(workload.GC, 2, 10, 1),
		mk(workload.EpochPool, 1, 13, 0), mk(workload.EpochPool, 2, 11, 0.05),
		mk(workload.Hazard, 1, 7, 0), mk(workload.Hazard, 2, 5, 0),
	}}
	got := map[string]targetResult{}
	for _, r := range evaluateTargets(res) {
		got[r.target] = r
	}
	pool := got["epoch-pool vs gc: >= 1.2x throughput, >= 90% fewer allocs/op"]
	require.Equal(t, "missed at g=2", pool.verdict, pool.measured)
	require.Contains(t, pool.measured, "g=1: 1.30x, 100% fewer allocs")
	hz := got["hazard vs epoch-pool: >= 0.5x throughput"]
	require.Equal(t, "missed at g=2", hz.verdict, hz.measured)
	require.Len(t, got, 2, "the map target does not apply to the set")
}
