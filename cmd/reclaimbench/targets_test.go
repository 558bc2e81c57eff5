package main

import (
	"strings"
	"testing"
	"time"

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

// Issue 11's goals for epoch-robust are checked on the stack at the
// goroutine counts they name: peak pending and allocations on the scheme
// alone, throughput against epoch-pool; other counts are left out.
func TestIssue11Targets(t *testing.T) {
	var stack *workload.Structure
	for _, s := range workload.Structures() {
		if s.Name == "stack" {
			stack = s
		}
	}
	mk := func(sc workload.Scheme, g int, mops, allocs float64, peak uint64) *point {
		v, ok := stack.Variant(sc)
		require.True(t, ok)
		return &point{cell: cell{variant: v, keys: stack.KeyRanges[0], mix: workload.Mix{Read: 0}}, goroutines: g,
			runs: make([]workload.Result, 5), sum: summary{mops: mops, mopsMin: mops / 2, mopsMax: mops,
				allocsPerOp: allocs, pending: true, pendingPeak: peak}}
	}
	res := &results{points: []*point{
		mk(workload.EpochPool, 2, 10, 0, 500), mk(workload.EpochPool, 64, 5, 0.5, 200000), mk(workload.EpochPool, 1024, 4, 0.7, 900000),
		mk(workload.EpochRobust, 2, 1, 1, 1e6), mk(workload.EpochRobust, 64, 11, 0.001, 3000), mk(workload.EpochRobust, 1024, 9, 0.02, 25000),
	}}
	got := map[string]targetResult{}
	for _, r := range evaluateTargets(res) {
		got[r.target] = r
	}
	peak := got["epoch-robust: peak pending <= 20000 at g=64 and g=1024"]
	require.Equal(t, "g=64: peak 3000; g=1024: peak 25000", peak.measured, "g=2 is not a count the goal names")
	require.Equal(t, "missed at g=1024", peak.verdict, "a throughput spread does not make it indicative")
	allocs := got["epoch-robust: <= 0.01 allocs/op at g=64 and g=1024"]
	require.Equal(t, "missed at g=1024", allocs.verdict, allocs.measured)
	speed := got["epoch-robust vs epoch-pool: >= 2x throughput at g=64"]
	require.Equal(t, "g=64: 2.20x", speed.measured)
	require.Equal(t, "met (indicative: spread up to ±50%)", speed.verdict)

	// Without those counts the goals say how to measure them.
	res.points = res.points[:1:1]
	res.points = append(res.points, mk(workload.EpochRobust, 2, 1, 0, 10))
	for _, r := range evaluateTargets(res) {
		if strings.HasPrefix(r.target, "epoch-robust") {
			require.Equal(t, "not measured", r.verdict, r.target)
			require.Contains(t, r.measured, "-goroutines", r.target)
		}
	}
}

// The robustness target for epoch-robust is met only when pending is both
// flat and, once settled, within the bound.
func TestRobustTarget(t *testing.T) {
	var set *workload.Structure
	for _, s := range workload.Structures() {
		if s.Name == "set" {
			set = s
		}
	}
	v, ok := set.Variant(workload.EpochRobust)
	require.True(t, ok)
	series := func(level func(i int) uint64) []workload.Sample {
		s := []workload.Sample{{}}
		for i := 1; i <= 30; i++ {
			s = append(s, workload.Sample{At: time.Duration(i) * 10 * time.Millisecond, Pending: level(i)})
		}
		return s
	}
	flat := series(func(int) uint64 { return 1000 })
	grows := series(func(i int) uint64 { return uint64(i) * 10000 })
	for _, tc := range []struct {
		series  []workload.Sample
		settled uint64
		verdict string
	}{
		{flat, 500, "met"},
		{grows, 500, "missed: grew"},
		{flat, 5000, "missed: above the bound"},
		{flat[:3], 500, "not measured"},
	} {
		r := workload.Robust{Variant: v, Result: workload.Result{Goroutines: 2, Series: tc.series}, Settled: tc.settled, Bound: 4000}
		got := evaluateTargets(&results{robust: []workload.Robust{r}})
		require.Len(t, got, 1)
		require.Equal(t, tc.verdict, got[0].verdict, got[0].measured)
	}
}

// Issue 14's goals compare offheap with xsync and gc (GC CPU, heap live),
// xsync (read p99.9, throughput) and the byte caches (throughput) on each
// bigmap mix, and the read goal to the floor too; the read goals skip
// 0/100, and a map smaller than the goals are stated for makes every
// verdict indicative.
func TestIssue14Targets(t *testing.T) {
	type fig struct {
		mops, gcCPU, heapLive float64
		p999                  time.Duration
	}
	points := func(s *workload.Structure, mix workload.Mix, figs map[workload.Scheme]fig) []*point {
		var ps []*point
		for _, sc := range []workload.Scheme{workload.GC, workload.Offheap, workload.Floor, workload.XSync, workload.Fastcache, workload.Bigcache} {
			v, ok := s.Variant(sc)
			require.True(t, ok)
			f := figs[sc]
			ps = append(ps, &point{cell: cell{variant: v, keys: s.KeyRanges[0], mix: mix}, goroutines: 4,
				runs: make([]workload.Result, 5), sum: summary{mops: f.mops, mopsMin: f.mops, mopsMax: f.mops,
					gcCPU: f.gcCPU, heapLive: f.heapLive, readP999: f.p999}})
		}
		return ps
	}
	figs := map[workload.Scheme]fig{
		workload.Offheap:   {mops: 8, gcCPU: 0.004, heapLive: 20e6, p999: 2 * time.Microsecond},
		workload.XSync:     {mops: 9, gcCPU: 0.05, heapLive: 900e6, p999: 3 * time.Microsecond},
		workload.GC:        {mops: 7, gcCPU: 0.03, heapLive: 300e6},
		workload.Floor:     {mops: 20, p999: 1600 * time.Nanosecond},
		workload.Fastcache: {mops: 5},
		workload.Bigcache:  {mops: 6},
	}
	evaluate := func(ps []*point) map[string]targetResult {
		got := map[string]targetResult{}
		for _, r := range evaluateTargets(&results{points: ps}) {
			key := r.target + " | " + r.where
			require.NotContains(t, got, key, "one verdict per goal and group")
			got[key] = r
		}
		return got
	}
	big := workload.Bigmap(workload.DefaultBigmapEntries)
	const where = " | bigmap 90/10, large keys (20000000)"
	got := evaluate(points(big, workload.Mix{Read: 90}, figs))
	for target, want := range map[string]struct{ measured, verdict string }{
		"offheap vs xsync: >= 10x lower GC CPU share":        {"g=4: 0.40% vs 5.00%", "met"},
		"offheap vs gc: >= 10x lower GC CPU share":           {"g=4: 0.40% vs 3.00%", "missed at g=4"},
		"offheap vs xsync: heap live < 5% of the baseline's": {"g=4: 20.0 MB vs 900.0 MB (2.2%)", "met"},
		"offheap vs gc: heap live < 5% of the baseline's":    {"g=4: 20.0 MB vs 300.0 MB (6.7%)", "missed at g=4"},
		"offheap vs xsync: read p99.9 <= 0.5x":               {"g=4: 2µs vs 3µs", "missed at g=4"},
		"offheap vs xsync: >= 0.8x throughput":               {"g=4: 0.89x", "met"},
		"offheap vs fastcache: >= 1.5x throughput":           {"g=4: 1.60x", "met"},
		"offheap vs bigcache: >= 1.5x throughput":            {"g=4: 1.33x", "missed at g=4"},
		"floor vs xsync: read p99.9 <= 0.5x (the goal applied to the floor: where it misses, no map can meet it here)": {
			"g=4: 1.6µs vs 3µs", "missed at g=4"},
	} {
		r, ok := got[target+where]
		require.True(t, ok, target)
		require.Equal(t, want.measured, r.measured, target)
		require.Equal(t, want.verdict, r.verdict, target)
	}
	require.Len(t, got, 9, "only issue 14's goals, and the floor's read goal, apply to bigmap")

	// 0/100 has no reads; a baseline without GC CPU meets nothing.
	figs[workload.GC] = fig{mops: 7}
	got = evaluate(points(big, workload.Mix{Read: 0}, figs))
	require.Len(t, got, 7, "no read goal")
	r := got["offheap vs gc: >= 10x lower GC CPU share | bigmap 0/100, large keys (20000000)"]
	require.Equal(t, "g=4: 0.40% vs 0.00% (no GC CPU to compare)", r.measured)
	require.Equal(t, "missed at g=4", r.verdict)

	// A small map's verdicts are indicative.
	for _, r := range evaluate(points(workload.Bigmap(1000), workload.Mix{Read: 90}, figs)) {
		require.True(t, strings.HasSuffix(r.verdict, "(indicative: 1000 entries, not 10000000)"), r.target+": "+r.verdict)
	}
}
