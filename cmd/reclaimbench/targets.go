package main

import (
	"fmt"
	"slices"
	"strings"

	"github.com/go-reclaim/reclaim/bench/workload"
)

// targetResult is one target checked on one group of points.
type targetResult struct {
	target   string
	where    string
	measured string // per goroutine count
	verdict  string // "met", "missed at ...", "not measured", with "(indicative: ...)" after
}

// A verdict is final only when every point it compares has at least
// finalRuns runs and a spread within finalSpread; otherwise, and always
// under -quick, it is marked indicative: the throughput of one run may
// differ from the median by more than the margin the verdict turns on.
const (
	finalRuns   = 3
	finalSpread = 0.10
)

// ratioCheck compares a scheme's summary with its baseline's at one
// goroutine count (base is zero for a target without a baseline): what to
// show and whether the target is met.
type ratioCheck func(s, base summary) (shown string, met bool)

// target is a goal for one scheme on some groups, as an issue states it:
// a comparison with a baseline scheme (issue 6), or, with no baseline, a
// limit on the scheme's own figures (issue 11).
type target struct {
	goal     string
	scheme   workload.Scheme
	baseline workload.Scheme // "": the goal is on the scheme alone
	applies  func(g *group) bool
	// at lists the goroutine counts the goal is stated for; nil: all.
	at    []int
	check ratioCheck
	// noSpread: the goal is not on throughput, so a wide throughput spread
	// does not make its verdict indicative.
	noSpread bool
	// scale, if set, says why a group is smaller than the goal is stated
	// for ("" if it is not), which makes the verdict indicative.
	scale func(g *group) string
}

func throughputAtLeast(min float64) ratioCheck {
	return func(s, base summary) (string, bool) {
		r := s.mops / base.mops
		return fmt.Sprintf("%.2fx", r), r >= min
	}
}

// poolCheck is target 2: at least 1.2x the throughput with at least 90%
// fewer allocations per operation.
func poolCheck(s, base summary) (string, bool) {
	r := s.mops / base.mops
	fewer := 1.0
	if base.allocsPerOp > 0 {
		fewer = 1 - s.allocsPerOp/base.allocsPerOp
	}
	return fmt.Sprintf("%.2fx, %.0f%% fewer allocs", r, 100*fewer), r >= 1.2 && fewer >= 0.9
}

// peakPendingAtMost is a limit on the peak pending objects of any run.
func peakPendingAtMost(limit uint64) ratioCheck {
	return func(s, _ summary) (string, bool) {
		return fmt.Sprintf("peak %d", s.pendingPeak), s.pending && s.pendingPeak <= limit
	}
}

// allocsAtMost is a limit on the median allocations per operation.
func allocsAtMost(limit float64) ratioCheck {
	return func(s, _ summary) (string, bool) {
		return fmt.Sprintf("%.4f allocs/op", s.allocsPerOp), s.allocsPerOp <= limit
	}
}

// The goroutine counts at which issue 11 states the robust mode's goals
// on the stack: many more goroutines than processors, so that some are
// always descheduled inside a guard.
var issue11Goroutines = []int{64, 1024}

func isStack(g *group) bool { return g.structure.Name == "stack" }

// epochScheme is the scheme the targets call "epoch": the pool-less
// variant where a structure has one, else its epoch.Pool variant (the
// library's containers recycle through a Pool).
func epochScheme(s *workload.Structure) workload.Scheme {
	if s.Has(workload.Epoch) {
		return workload.Epoch
	}
	return workload.EpochPool
}

// Issue 14 states its goals for the off-heap map with ten million
// entries, against the Go heap's maps and the byte caches.
func isBigmapGroup(g *group) bool { return isBigmap(g.structure) }

func bigmapReads(g *group) bool { return isBigmap(g.structure) && g.mix.Read > 0 }

// bigmapScale: a map of fewer entries keeps less on the heap for the
// collector to mark, so it cannot show what the goals are about.
func bigmapScale(g *group) string {
	if n := g.keys.N / 2; n < workload.DefaultBigmapEntries {
		return fmt.Sprintf("%d entries, not %d", n, workload.DefaultBigmapEntries)
	}
	return ""
}

// gcCPULower is a GC CPU share at least factor times lower than the
// baseline's. A baseline without GC CPU (a run too short for a
// collection) shows nothing either way, so it does not meet the goal.
func gcCPULower(factor float64) ratioCheck {
	return func(s, base summary) (string, bool) {
		shown := fmt.Sprintf("%.2f%% vs %.2f%%", 100*s.gcCPU, 100*base.gcCPU)
		if base.gcCPU == 0 {
			shown += " (no GC CPU to compare)"
		}
		return shown, base.gcCPU > 0 && s.gcCPU*factor <= base.gcCPU
	}
}

// heapLiveUnder is live heap under frac of the baseline's.
func heapLiveUnder(frac float64) ratioCheck {
	return func(s, base summary) (string, bool) {
		shown := fmt.Sprintf("%s MB vs %s MB", megabytes(s.heapLive), megabytes(base.heapLive))
		if base.heapLive > 0 {
			shown += fmt.Sprintf(" (%.1f%%)", 100*s.heapLive/base.heapLive)
		}
		return shown, s.heapLive < frac*base.heapLive
	}
}

// readP999AtMost is a reads' 99.9th percentile at most frac of the
// baseline's.
func readP999AtMost(frac float64) ratioCheck {
	return func(s, base summary) (string, bool) {
		return fmt.Sprintf("%s vs %s", latency(s.readP999), latency(base.readP999)),
			base.readP999 > 0 && float64(s.readP999) <= frac*float64(base.readP999)
	}
}

func targets() []target {
	bigmap := func(goal string, baseline workload.Scheme, applies func(*group) bool, check ratioCheck, noSpread bool) target {
		return target{goal: goal, scheme: workload.Offheap, baseline: baseline, applies: applies, check: check,
			noSpread: noSpread, scale: bigmapScale}
	}
	return []target{
		{
			goal: ">= 0.9x throughput", scheme: workload.Epoch, baseline: workload.GC,
			applies: func(g *group) bool { return g.structure.Name == "map" && g.mix.Read == 90 },
			check:   throughputAtLeast(0.9),
		},
		{
			goal: ">= 1.2x throughput, >= 90% fewer allocs/op", scheme: workload.EpochPool, baseline: workload.GC,
			applies: func(g *group) bool { return !isBigmap(g.structure) && (g.mix.Read == 50 || g.mix.Read == 0) },
			check:   poolCheck,
		},
		{
			goal: ">= 0.5x throughput", scheme: workload.Hazard, baseline: workload.Epoch,
			applies: func(g *group) bool { return g.structure.Name == "set" },
			check:   throughputAtLeast(0.5),
		},
		// Issue 11: the robust mode keeps pending memory and allocation
		// down where goroutines outnumber processors, and is faster there
		// than the classic mode, whose Pool falls back to allocating.
		{
			goal: "peak pending <= 20000 at g=64 and g=1024", scheme: workload.EpochRobust,
			applies: isStack, at: issue11Goroutines, check: peakPendingAtMost(20000), noSpread: true,
		},
		{
			goal: "<= 0.01 allocs/op at g=64 and g=1024", scheme: workload.EpochRobust,
			applies: isStack, at: issue11Goroutines, check: allocsAtMost(0.01), noSpread: true,
		},
		{
			goal: ">= 2x throughput at g=64", scheme: workload.EpochRobust, baseline: workload.EpochPool,
			applies: isStack, at: []int{64}, check: throughputAtLeast(2),
		},
		// Issue 14: off the Go heap, a big map costs the collector next to
		// nothing, and its reads are not held up while it runs.
		bigmap(">= 10x lower GC CPU share", workload.XSync, isBigmapGroup, gcCPULower(10), true),
		bigmap(">= 10x lower GC CPU share", workload.GC, isBigmapGroup, gcCPULower(10), true),
		bigmap("heap live < 5% of the baseline's", workload.XSync, isBigmapGroup, heapLiveUnder(0.05), true),
		bigmap("heap live < 5% of the baseline's", workload.GC, isBigmapGroup, heapLiveUnder(0.05), true),
		bigmap("read p99.9 <= 0.5x", workload.XSync, bigmapReads, readP999AtMost(0.5), true),
		// The same goal for the floor, a read's two cache misses and nothing
		// else: where even it misses the goal, the tail is the machine's
		// (interrupts, the hypervisor), not the map's or the collector's.
		{
			goal: "read p99.9 <= 0.5x (the goal applied to the floor: where it misses, no map can meet it here)", scheme: workload.Floor,
			baseline: workload.XSync, applies: bigmapReads, check: readP999AtMost(0.5), noSpread: true, scale: bigmapScale,
		},
		bigmap(">= 0.8x throughput", workload.XSync, isBigmapGroup, throughputAtLeast(0.8), false),
		bigmap(">= 1.5x throughput", workload.Fastcache, isBigmapGroup, throughputAtLeast(1.5), false),
		bigmap(">= 1.5x throughput", workload.Bigcache, isBigmapGroup, throughputAtLeast(1.5), false),
	}
}

// evaluateTargets checks every target on every group it applies to, and
// the robustness target on the hazard robustness run.
func evaluateTargets(res *results) []targetResult {
	var out []targetResult
	quick := res.opts != nil && res.opts.quick
	for _, t := range targets() {
		for _, g := range groups(res.points) {
			if t.applies(g) {
				out = append(out, t.evaluate(g, quick))
			}
		}
	}
	for _, r := range res.robust {
		switch {
		case r.Hazard != nil:
			out = append(out, targetResult{
				target:   "hazard: pending within its documented bound",
				where:    "robustness, " + r.Variant.Name(),
				measured: fmt.Sprintf("peak %d, bound %d", r.Hazard.PeakPending, r.Bound),
				verdict:  metOrMissed(r.Within()),
			})
		case r.Variant.Scheme == workload.EpochRobust:
			out = append(out, robustTarget(r))
		}
	}
	return out
}

// robustTarget is issue 11's robustness goal for epoch-robust: with one
// reader stalled for the whole run, pending stays flat (Robust.Flat), and
// once the churn stops it is within package epoch's bound for the stalled
// guard (Robust.Within; during the churn the bound depends on how long
// each churner's guard stays open, which the run cannot know).
func robustTarget(r workload.Robust) targetResult {
	res := targetResult{
		target: "epoch-robust: pending flat, and within its documented bound once the churn stops",
		where:  "robustness, " + r.Variant.Name(),
	}
	first, last, ok := r.Thirds()
	if !ok {
		res.measured = fmt.Sprintf("too few samples to judge flatness (%d); settled %d, bound %d", len(r.Result.Series), r.Settled, r.Bound)
		res.verdict = "not measured"
		return res
	}
	res.measured = fmt.Sprintf("peak %d in the first third, %d in the last; settled %d, bound %d", first, last, r.Settled, r.Bound)
	var missed []string
	if !r.Flat() {
		missed = append(missed, "grew")
	}
	if !r.Within() {
		missed = append(missed, "above the bound")
	}
	res.verdict = "met"
	if len(missed) > 0 {
		res.verdict = "missed: " + strings.Join(missed, ", ")
	}
	if r.Result.Cut {
		res.verdict += " (cut at the pending limit)"
	}
	return res
}

func metOrMissed(met bool) string {
	if met {
		return "met"
	}
	return "missed"
}

func (t target) evaluate(g *group, quick bool) targetResult {
	scheme, baseline := t.scheme, t.baseline
	if scheme == workload.Epoch {
		scheme = epochScheme(g.structure)
	}
	if baseline == workload.Epoch {
		baseline = epochScheme(g.structure)
	}
	name := fmt.Sprintf("%s vs %s: %s", scheme, baseline, t.goal)
	if baseline == "" {
		name = fmt.Sprintf("%s: %s", scheme, t.goal)
	}
	res := targetResult{target: name, where: g.title(), verdict: "not measured"}
	var shown, missed []string
	spread, runs := 0.0, -1 // the widest spread and the fewest runs compared
	compared := func(p *point) {
		spread = max(spread, p.sum.spread())
		if runs < 0 || len(p.runs) < runs {
			runs = len(p.runs)
		}
	}
	for _, p := range g.points {
		if p.variant.Scheme != scheme || t.at != nil && !slices.Contains(t.at, p.goroutines) {
			continue
		}
		var base summary
		if baseline != "" {
			b := g.at(baseline, p.goroutines)
			if b == nil {
				continue
			}
			compared(b)
			base = b.sum
		}
		if p.sum.mops == 0 || baseline != "" && base.mops == 0 {
			shown = append(shown, fmt.Sprintf("g=%d: no operation completed", p.goroutines))
			missed = append(missed, fmt.Sprintf("g=%d (not measured)", p.goroutines))
			continue
		}
		compared(p)
		s, ok := t.check(p.sum, base)
		shown = append(shown, fmt.Sprintf("g=%d: %s", p.goroutines, s))
		if !ok {
			missed = append(missed, fmt.Sprintf("g=%d", p.goroutines))
		}
	}
	if len(shown) == 0 {
		if t.at != nil && slices.ContainsFunc(g.points, func(p *point) bool { return p.variant.Scheme == scheme }) {
			res.measured = "not at these goroutine counts: run with -goroutines " + joinInts(t.at)
		}
		return res
	}
	res.measured = strings.Join(shown, "; ")
	res.verdict = "met"
	if len(missed) > 0 {
		res.verdict = "missed at " + strings.Join(missed, ", ")
	}
	var why []string
	if quick {
		why = append(why, "-quick")
	}
	if runs < finalRuns {
		why = append(why, plural(runs, "run"))
	}
	if spread > finalSpread && !t.noSpread {
		why = append(why, fmt.Sprintf("spread up to ±%.0f%%", 100*spread))
	}
	if t.scale != nil {
		if s := t.scale(g); s != "" {
			why = append(why, s)
		}
	}
	if len(why) > 0 {
		res.verdict += " (indicative: " + strings.Join(why, ", ") + ")"
	}
	return res
}

// at returns the group's point for scheme at g goroutines, or nil.
func (g *group) at(scheme workload.Scheme, goroutines int) *point {
	for _, p := range g.points {
		if p.variant.Scheme == scheme && p.goroutines == goroutines {
			return p
		}
	}
	return nil
}

func targetTable(ts []targetResult) table {
	t := table{header: []string{"target", "where", "measured", "verdict"}}
	for _, r := range ts {
		t.rows = append(t.rows, []string{r.target, r.where, r.measured, r.verdict})
	}
	return t
}
