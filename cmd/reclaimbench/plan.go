package main

import (
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/go-reclaim/reclaim/bench"
	"github.com/go-reclaim/reclaim/bench/workload"
	"github.com/go-reclaim/reclaim/internal/fence"
)

// cell is one structure, key range and mix under one scheme: one instance,
// prefilled once, then warmed up and measured at each goroutine count,
// smallest first.
type cell struct {
	variant workload.Variant
	keys    workload.KeyRange
	mix     workload.Mix
}

// plan lists the cells o selects, by structure, key range, mix and then
// scheme, so that each table compares schemes side by side.
func plan(o *options) []cell {
	var cells []cell
	for _, s := range o.structures {
		for _, kr := range s.KeyRanges {
			if !slices.Contains(o.keys, kr.Name) {
				continue
			}
			mixes := o.mixes // any mix the flag names, in its order
			if s.Paired {
				mixes = s.Mixes()
			}
			for i, m := range mixes {
				if slices.Contains(mixes[:i], m) {
					continue // named twice
				}
				for _, sc := range o.schemes {
					if v, ok := s.Variant(sc); ok {
						cells = append(cells, cell{variant: v, keys: kr, mix: m})
					}
				}
			}
		}
	}
	return cells
}

// robustPlan lists the variants of the robustness run: the set's (or, if
// the set is not selected, the first selected structure's) epoch and hazard
// variants among the selected schemes. Opt-in structures have none: their
// prefill is long, and the off-heap map's fixed capacity would run out
// while a stalled guard holds its deleted entries back.
func robustPlan(o *options) []workload.Variant {
	if o.robust == 0 {
		return nil
	}
	order := slices.DeleteFunc(slices.Clone(o.structures), func(s *workload.Structure) bool { return s.OptIn })
	slices.SortStableFunc(order, func(a, b *workload.Structure) int {
		return boolInt(b.Name == "set") - boolInt(a.Name == "set")
	})
	for _, s := range order {
		var vs []workload.Variant
		for _, sc := range o.schemes {
			if v, ok := s.Variant(sc); ok && sc.Reclaims() {
				vs = append(vs, v)
			}
		}
		if len(vs) > 0 {
			return vs
		}
	}
	return nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// prefillPerEntry is roughly what a prefilled entry costs a cell: an
// insert, and the growth and collections it brings. Bigmap's schemes
// have figures of their own (bigmapCosts).
const prefillPerEntry = 300 * time.Nanosecond

// overhead is roughly how long a cell takes beyond its measured runs: its
// prefill (about half the key range, in entries or elements), and for
// bigmap the collections its runs start with.
func overhead(o *options, c cell) time.Duration {
	if isBigmap(c.variant.Structure) {
		return bigmapOverhead(c, len(o.goroutines)*(1+o.reps))
	}
	return prefillPerEntry * time.Duration(c.keys.N/2)
}

// estimate is roughly how long the plan takes: the measured runs, a
// warm-up per point and the overhead per cell, the robustness runs and the
// microbenchmarks (about 1.5 x benchtime each, floors included).
func estimate(o *options, cells []cell, robust []workload.Variant, micro int) time.Duration {
	perCell := o.duration * time.Duration(len(o.goroutines)*(1+o.reps))
	d := perCell * time.Duration(len(cells))
	for _, c := range cells {
		d += overhead(o, c)
	}
	d += o.robust * time.Duration(len(robust))
	d += o.benchtime * 3 / 2 * time.Duration(micro*o.count)
	if o.fences == "both" && fence.Asymmetric {
		d += o.benchtime * 3 / 2 * time.Duration(micro*o.count) // the SC child
	}
	return d
}

// selectedMicro is the microbenchmarks o runs.
func selectedMicro(o *options) []bench.Case {
	if !o.micro {
		return nil
	}
	return microCases(o.microRun)
}

// planEstimate is estimate for everything o selects.
func planEstimate(o *options) time.Duration {
	return estimate(o, plan(o), robustPlan(o), len(selectedMicro(o)))
}

// plural is "1 run", "3 runs": n and word, with an s unless n is 1.
func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// planLine is the one-line summary of what o selects, shown before a run
// and by -dry-run.
func planLine(o *options, cells []cell, robust []workload.Variant, micro int) string {
	return fmt.Sprintf("%s, %s x %s x %s of %v, %s of %v: about %v",
		plural(micro, "microbenchmark"), plural(len(cells), "workload cell"), plural(len(o.goroutines), "goroutine count"),
		plural(o.reps, "run"), o.duration, plural(len(robust), "robustness run"), o.robust,
		roundEstimate(estimate(o, cells, robust, micro)))
}

// writeDryRun lists what o selects without running it: every point (a
// cell at one goroutine count), the robustness runs and the
// microbenchmarks.
func writeDryRun(w io.Writer, o *options) {
	cells, robust, micro := plan(o), robustPlan(o), selectedMicro(o)
	fmt.Fprintf(w, "reclaimbench -dry-run: %s\n", planLine(o, cells, robust, len(micro)))
	if len(cells) > 0 {
		fmt.Fprintf(w, "\n%s (each cell: a prefill, then at each goroutine count, smallest first, a warm-up run and %s of %v):\n",
			plural(len(cells)*len(o.goroutines), "point"), plural(o.reps, "run"), o.duration)
		writeBigmapEstimate(w, o, cells)
		for _, c := range cells {
			g := group{structure: c.variant.Structure, keys: c.keys, mix: c.mix}
			for _, n := range o.goroutines {
				fmt.Fprintf(w, "  %s, %s, %s\n", g.title(), c.variant.Scheme, plural(n, "goroutine"))
			}
		}
	}
	if len(robust) > 0 {
		fmt.Fprintf(w, "\nrobustness (one reader stalled for %v):\n", o.robust)
		for _, v := range robust {
			fmt.Fprintf(w, "  %s\n", v.Name())
		}
	}
	if len(micro) > 0 {
		fmt.Fprintf(w, "\nmicrobenchmarks (%s of about %v each):\n", plural(o.count, "run"), o.benchtime)
		for _, c := range micro {
			fmt.Fprintf(w, "  %s\n", c.Name)
		}
	}
}
