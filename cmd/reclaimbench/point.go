package main

import (
	"fmt"
	"math"
	"time"

	"github.com/go-reclaim/reclaim/bench/workload"
)

// point is one cell at one goroutine count: its repeated runs and their
// summary.
type point struct {
	cell
	goroutines int
	runs       []workload.Result
	sum        summary
}

// summary condenses a point's runs: medians, and the throughput's range.
type summary struct {
	mops, mopsMin, mopsMax float64
	nsPerOp                float64
	allocsPerOp            float64
	bytesPerOp             float64
	gcCycles               float64 // per run
	gcCPU                  float64 // fraction
	p50, p99, p999         time.Duration
	readP99, readP999      time.Duration // of the reads alone; 0 without reads
	// heapLive, heapScan and rss are levels at the end of a run, in bytes
	// (see workload.Result).
	heapLive, heapScan, rss float64
	pending                 bool    // the scheme has pending objects
	pendingPeak             uint64  // the highest sample of any run
	pendingMean             float64 // median of the runs' means
}

func summarize(runs []workload.Result) summary {
	col := func(f func(workload.Result) float64) []float64 {
		xs := make([]float64, len(runs))
		for i, r := range runs {
			xs[i] = f(r)
		}
		return xs
	}
	mops := col(func(r workload.Result) float64 { return r.OpsPerSec() / 1e6 })
	s := summary{
		mopsMin:     minOf(mops),
		mopsMax:     maxOf(mops),
		mops:        median(mops),
		nsPerOp:     median(col(workload.Result.NsPerOp)),
		allocsPerOp: median(col(workload.Result.AllocsPerOp)),
		bytesPerOp:  median(col(workload.Result.BytesPerOp)),
		gcCycles:    median(col(func(r workload.Result) float64 { return float64(r.GCCycles) })),
		gcCPU:       median(col(func(r workload.Result) float64 { return r.GCCPU })),
		p50:         time.Duration(median(col(func(r workload.Result) float64 { return float64(r.Latency.P50) }))),
		p99:         time.Duration(median(col(func(r workload.Result) float64 { return float64(r.Latency.P99) }))),
		p999:        time.Duration(median(col(func(r workload.Result) float64 { return float64(r.Latency.P999) }))),
		readP99:     time.Duration(median(col(func(r workload.Result) float64 { return float64(r.ReadLatency.P99) }))),
		readP999:    time.Duration(median(col(func(r workload.Result) float64 { return float64(r.ReadLatency.P999) }))),
		heapLive:    median(col(func(r workload.Result) float64 { return float64(r.HeapLive) })),
		heapScan:    median(col(func(r workload.Result) float64 { return float64(r.HeapScan) })),
		rss:         median(col(func(r workload.Result) float64 { return float64(r.RSS) })),
	}
	if runs[0].Pending != nil {
		s.pending = true
		s.pendingMean = median(col(func(r workload.Result) float64 { return r.Pending.Mean }))
		for _, r := range runs {
			s.pendingPeak = max(s.pendingPeak, r.Pending.Peak)
		}
	}
	return s
}

// spread is the largest deviation of a run's throughput from the median,
// relative to the median.
func (s summary) spread() float64 {
	if s.mops == 0 {
		return 0
	}
	return math.Max(s.mopsMax-s.mops, s.mops-s.mopsMin) / s.mops
}

func minOf(xs []float64) float64 {
	m := math.Inf(1)
	for _, x := range xs {
		m = math.Min(m, x)
	}
	return m
}

func maxOf(xs []float64) float64 {
	m := math.Inf(-1)
	for _, x := range xs {
		m = math.Max(m, x)
	}
	return m
}

// pendingText formats pending objects, "-" for a scheme without them.
func (s summary) pendingText() (peak, mean string) {
	if !s.pending {
		return "-", "-"
	}
	return fmt.Sprint(s.pendingPeak), fmt.Sprintf("%.0f", s.pendingMean)
}

// group is the points of one structure, key range and mix: one table and
// one plot.
type group struct {
	structure *workload.Structure
	keys      workload.KeyRange
	mix       workload.Mix
	points    []*point // by scheme, then goroutines
}

// title is "map 90/10, small keys (1024)".
func (g *group) title() string {
	if g.structure.Paired {
		return fmt.Sprintf("%s push/pop, %d elements", g.structure.Name, g.keys.N/2)
	}
	return fmt.Sprintf("%s %s, %s keys (%d)", g.structure.Name, g.mix, g.keys.Name, g.keys.N)
}

// slug names the group's files: "map-90-10-small".
func (g *group) slug() string {
	return fmt.Sprintf("%s-%s-%s", g.structure.Name, g.mix.Slug(), g.keys.Name)
}

// groups collects points into groups, keeping their order.
func groups(points []*point) []*group {
	var gs []*group
	for _, p := range points {
		if n := len(gs); n > 0 {
			if g := gs[n-1]; g.structure == p.variant.Structure && g.keys == p.keys && g.mix == p.mix {
				g.points = append(g.points, p)
				continue
			}
		}
		gs = append(gs, &group{structure: p.variant.Structure, keys: p.keys, mix: p.mix, points: []*point{p}})
	}
	return gs
}
