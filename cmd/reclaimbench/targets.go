package main

import (
	"fmt"
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
// goroutine count: what to show and whether the target is met.
type ratioCheck func(s, base summary) (shown string, met bool)

// target is a comparison of two schemes on some groups, as issue 6 states
// it.
type target struct {
	goal     string
	scheme   workload.Scheme
	baseline workload.Scheme
	applies  func(g *group) bool
	check    ratioCheck
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

// epochScheme is the scheme the targets call "epoch": the pool-less
// variant where a structure has one, else its epoch.Pool variant (the
// library's containers recycle through a Pool).
func epochScheme(s *workload.Structure) workload.Scheme {
	if s.Has(workload.Epoch) {
		return workload.Epoch
	}
	return workload.EpochPool
}

func targets() []target {
	return []target{
		{
			goal: ">= 0.9x throughput", scheme: workload.Epoch, baseline: workload.GC,
			applies: func(g *group) bool { return g.structure.Name == "map" && g.mix.Read == 90 },
			check:   throughputAtLeast(0.9),
		},
		{
			goal: ">= 1.2x throughput, >= 90% fewer allocs/op", scheme: workload.EpochPool, baseline: workload.GC,
			applies: func(g *group) bool { return g.mix.Read == 50 || g.mix.Read == 0 },
			check:   poolCheck,
		},
		{
			goal: ">= 0.5x throughput", scheme: workload.Hazard, baseline: workload.Epoch,
			applies: func(g *group) bool { return g.structure.Name == "set" },
			check:   throughputAtLeast(0.5),
		},
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
		if r.Hazard != nil {
			verdict := "met"
			if !r.Within() {
				verdict = "missed"
			}
			out = append(out, targetResult{
				target:   "hazard: pending within its documented bound",
				where:    "robustness, " + r.Variant.Name(),
				measured: fmt.Sprintf("peak %d, bound %d", r.Hazard.PeakPending, r.Bound),
				verdict:  verdict,
			})
		}
	}
	return out
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
		if p.variant.Scheme != scheme {
			continue
		}
		base := g.at(baseline, p.goroutines)
		if base == nil {
			continue
		}
		compared(p)
		compared(base)
		s, ok := t.check(p.sum, base.sum)
		shown = append(shown, fmt.Sprintf("g=%d: %s", p.goroutines, s))
		if !ok {
			missed = append(missed, fmt.Sprintf("g=%d", p.goroutines))
		}
	}
	if len(shown) == 0 {
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
	if spread > finalSpread {
		why = append(why, fmt.Sprintf("spread up to ±%.0f%%", 100*spread))
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
