package main

import (
	"flag"
	"fmt"
	"regexp"
	"slices"
	"testing"
	"time"

	"github.com/go-reclaim/reclaim/bench"
)

// microResult is one microbenchmark: the median of its runs.
type microResult struct {
	c           bench.Case
	nsPerOp     float64
	allocsPerOp float64 // the median of the runs, not rounded down
	runs        []testing.BenchmarkResult
	floor       *microResult // nil for a floor, or when the floor did not run
	scNsPerOp   float64      // on the SC path, from the child of -fences both; 0 if not measured
}

// scRatio is the SC path's ns/op over its floor's, or 0.
func (r *microResult) scRatio() float64 {
	if r.floor == nil || r.scNsPerOp == 0 || r.floor.scNsPerOp == 0 {
		return 0
	}
	return r.scNsPerOp / r.floor.scNsPerOp
}

// ratio is ns/op over the floor's, or 0 without a floor.
func (r *microResult) ratio() float64 {
	if r.floor == nil {
		return 0
	}
	return r.nsPerOp / r.floor.nsPerOp
}

// microCases lists the cases to run, in the suite's order: those matching
// filter and their floors, transitively (a case such as EpochEnterExit is
// a floor and has one), so that each ratio compares with a floor measured
// in the same run.
func microCases(filter *regexp.Regexp) []bench.Case {
	floorOf := map[string]string{}
	for _, c := range bench.Suite {
		floorOf[c.Name] = c.Floor
	}
	want := map[string]bool{}
	for _, c := range bench.Suite {
		if filter.MatchString(c.Name) {
			for n := c.Name; n != "" && !want[n]; n = floorOf[n] {
				want[n] = true
			}
		}
	}
	var cs []bench.Case
	for _, c := range bench.Suite {
		if want[c.Name] {
			cs = append(cs, c)
		}
	}
	return cs
}

// runMicro runs each case count times with testing.Benchmark, calling
// step after each run, until stopped reports true: the cases finished by
// then are returned.
func runMicro(cases []bench.Case, count int, benchtime time.Duration, stopped func() bool, step func(name string)) ([]*microResult, error) {
	// testing.Benchmark reads its benchtime from the testing flags, which
	// testing.Init registered in main (or the test binary did).
	if err := flag.Set("test.benchtime", benchtime.String()); err != nil {
		return nil, err
	}
	byName := map[string]*microResult{}
	var out []*microResult
	for _, c := range cases {
		if stopped() {
			break
		}
		r := &microResult{c: c}
		ns := make([]float64, 0, count)
		allocs := make([]float64, 0, count)
		for range count {
			br := testing.Benchmark(c.Run)
			if br.N == 0 {
				return nil, fmt.Errorf("microbenchmark %s failed", c.Name)
			}
			r.runs = append(r.runs, br)
			ns = append(ns, float64(br.T.Nanoseconds())/float64(br.N))
			allocs = append(allocs, float64(br.MemAllocs)/float64(br.N))
			step(c.Name)
		}
		r.nsPerOp = median(ns)
		r.allocsPerOp = median(allocs)
		r.floor = byName[c.Floor]
		byName[c.Name] = r
		out = append(out, r)
	}
	return out, nil
}

// median returns the median of xs (the mean of the middle two for an even
// count). It sorts xs.
func median(xs []float64) float64 {
	slices.Sort(xs)
	n := len(xs)
	if n%2 == 1 {
		return xs[n/2]
	}
	return (xs[n/2-1] + xs[n/2]) / 2
}
