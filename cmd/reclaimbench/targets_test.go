package main

import (
	"strings"
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
			runs: make([]workload.Result, 5), sum: summary{mops: mops, mopsMin: mops, mopsMax: mops, allocsPerOp: allocs}}
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

// A verdict from too few runs, a wide spread or -quick is marked
// indicative; one from enough steady runs is final.
func TestIndicativeVerdicts(t *testing.T) {
	var set *workload.Structure
	for _, s := range workload.Structures() {
		if s.Name == "set" {
			set = s
		}
	}
	mk := func(sc workload.Scheme, mops, spread float64, runs int) *point {
		v, ok := set.Variant(sc)
		require.True(t, ok)
		return &point{cell: cell{variant: v, keys: set.KeyRanges[0], mix: workload.Mix{Read: 0}}, goroutines: 1,
			runs: make([]workload.Result, runs), sum: summary{mops: mops, mopsMin: mops * (1 - spread), mopsMax: mops}}
	}
	verdict := func(quick bool, ps ...*point) string {
		res := &results{opts: &options{quick: quick}, points: ps}
		for _, r := range evaluateTargets(res) {
			if strings.HasPrefix(r.target, "hazard vs") {
				return r.verdict
			}
		}
		return ""
	}
	require.Equal(t, "met", verdict(false, mk(workload.EpochPool, 10, 0.05, 5), mk(workload.Hazard, 7, 0.05, 5)))
	require.Equal(t, "met (indicative: spread up to ±40%)",
		verdict(false, mk(workload.EpochPool, 10, 0.4, 5), mk(workload.Hazard, 7, 0.05, 5)))
	require.Equal(t, "missed at g=1 (indicative: -quick, 1 run)",
		verdict(true, mk(workload.EpochPool, 10, 0, 1), mk(workload.Hazard, 4, 0, 1)))
}
