package main

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"slices"
	"time"

	"github.com/go-reclaim/reclaim/bench"
	"github.com/go-reclaim/reclaim/bench/workload"
	"github.com/go-reclaim/reclaim/internal/fence"
)

// results is everything one invocation measured.
type results struct {
	opts    *options
	machine machine
	started time.Time
	took    time.Duration
	micro   []*microResult
	points  []*point
	robust  []workload.Robust
	// partial is set when the run was interrupted (Ctrl-C): the results
	// hold what was measured before, and the point being measured has
	// only the runs it finished.
	partial bool
}

// robustMaxPending ends a robustness run early before a stalled epoch
// guard lets pending objects exhaust memory (4M list nodes: about 200 MB).
const robustMaxPending = 1 << 22

// runSuite runs the microbenchmarks, the workload cells and the robustness
// runs, in that order, showing progress on stderr. Once ctx ends (Ctrl-C)
// it stops after the measurement under way and returns what it has,
// marked partial.
func runSuite(ctx context.Context, o *options, stdout, stderr io.Writer) (*results, error) {
	res := &results{opts: o, machine: describeMachine(), started: time.Now()}
	defer func() { res.took = time.Since(res.started) }()
	cells, robust, micro := plan(o), robustPlan(o), selectedMicro(o)
	steps := len(micro)*o.count + len(cells)*len(o.goroutines)*(1+o.reps) + len(robust)
	fmt.Fprintf(stdout, "reclaimbench: %s\n%s\n\n", res.machine, planLine(o, cells, robust, len(micro)))
	bar := newProgress(stderr, steps)
	defer bar.finish()
	stopped := func() bool {
		if ctx.Err() != nil {
			res.partial = true
		}
		return res.partial
	}

	if len(micro) > 0 {
		var err error
		res.micro, err = runMicro(micro, o.count, o.benchtime, stopped, func(name string) { bar.step("micro " + name) })
		bench.FreeMissTable() // 96 MiB of pointers: the workloads must not carry it
		if err != nil {
			return nil, err
		}
		if o.fences == "both" && fence.Asymmetric && !stopped() {
			if err := measureSC(ctx, o, res.micro); err != nil {
				return nil, err
			}
		}
	}
	for i, c := range cells {
		if stopped() {
			return res, nil
		}
		ps, err := runCell(c, o, uint64(i), bar, stopped)
		if err != nil {
			return nil, err
		}
		res.points = append(res.points, ps...)
	}
	for _, v := range robust {
		if stopped() {
			return res, nil
		}
		r, err := workload.Robustness(v, workload.Config{
			Keys:       v.Structure.KeyRanges[0].N,
			Goroutines: runtime.GOMAXPROCS(0),
			Duration:   o.robust,
			MaxPending: robustMaxPending,
		})
		if err != nil {
			return nil, fmt.Errorf("robustness %s: %w", v.Name(), err)
		}
		res.robust = append(res.robust, r)
		bar.step("robustness " + v.Name())
	}
	return res, nil
}

// runCell prefills one instance and, at each goroutine count in
// increasing order, warms it up for one run at that count and measures it
// o.reps times, until stopped reports true: the points measured so far are
// returned, the last with the runs it finished.
//
// Each count has its own warm-up, and counts run from the smallest, so
// that a point does not inherit a larger count's state: a single warm-up
// at the largest count, as before, left an epoch Pool with the tens of
// thousands of nodes that four goroutines on two processors had left
// pending (67,000 at the peak), and the set at one goroutine, walking
// nodes drawn from them, ran at 4.96 Mops/s against 7.07 on an instance
// warmed up at one goroutine (same binary and sitting).
func runCell(c cell, o *options, index uint64, bar *progress, stopped func() bool) (ps []*point, err error) {
	s := c.variant.Structure
	counts := slices.Sorted(slices.Values(o.goroutines))
	maxG := counts[len(counts)-1]
	releaseMemory(s)
	inst := c.variant.New(workload.Options{Capacity: s.Capacity(c.keys.N, maxG)})
	if inst.Close != nil {
		defer func() {
			if cerr := inst.Close(); err == nil && cerr != nil {
				err = fmt.Errorf("%s: close: %w", c.variant.Name(), cerr)
			}
		}()
	}
	cfg := workload.Config{Structure: s, Keys: c.keys.N, Mix: c.mix, Duration: o.duration, Seed: index << 32}
	name := fmt.Sprintf("%s %s %s", c.variant.Name(), c.mix, c.keys.Name)
	workload.Prefill(inst, cfg)
	for _, g := range counts {
		if stopped() {
			break
		}
		cfg.Goroutines = g
		cfg.Seed = index<<32 | uint64(g)<<16
		if _, err := workload.Run(inst, cfg); err != nil {
			return nil, err
		}
		bar.step(fmt.Sprintf("%s g=%d warm-up", name, g))
		p := &point{cell: c, goroutines: g}
		for rep := range o.reps {
			if stopped() {
				break
			}
			cfg.Seed = index<<32 | uint64(g)<<16 | uint64(rep+1)
			r, err := workload.Run(inst, cfg)
			if err != nil {
				return nil, err
			}
			p.runs = append(p.runs, r)
			bar.step(fmt.Sprintf("%s g=%d", name, g))
		}
		if len(p.runs) == 0 {
			break
		}
		p.sum = summarize(p.runs)
		ps = append(ps, p)
	}
	return ps, nil
}
