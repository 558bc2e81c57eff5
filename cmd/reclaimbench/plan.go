package main

import (
	"slices"
	"time"

	"github.com/go-reclaim/reclaim/bench/workload"
)

// cell is one structure, key range and mix under one scheme: one instance,
// prefilled once, warmed up, then measured at every goroutine count.
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
			for _, m := range s.Mixes() {
				if !s.Paired && !slices.Contains(o.mixes, m) {
					continue
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
// variants among the selected schemes.
func robustPlan(o *options) []workload.Variant {
	if o.robust == 0 {
		return nil
	}
	order := slices.Clone(o.structures)
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

// estimate is roughly how long the plan takes: the measured runs, a
// warm-up per cell, the robustness runs and the microbenchmarks (about
// 1.5 x benchtime each, floors included).
func estimate(o *options, cells []cell, robust []workload.Variant, micro int) time.Duration {
	perCell := o.duration * time.Duration(1+len(o.goroutines)*o.reps)
	d := perCell * time.Duration(len(cells))
	d += o.robust * time.Duration(len(robust))
	d += o.benchtime * 3 / 2 * time.Duration(micro*o.count)
	return d
}
