package main

import (
	"fmt"
	"path"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/go-reclaim/reclaim/bench/workload"
	"github.com/go-reclaim/reclaim/epoch"
)

// table is a header and rows of cells, rendered by the terminal printer
// and the markdown writer alike.
type table struct {
	header []string
	rows   [][]string
}

var pointHeader = []string{"scheme", "goroutines", "Mops/s", "±", "ns/op", "allocs/op", "B/op",
	"peak pending", "mean pending", "GCs/run", "GC CPU", "p50", "p99", "p99.9"}

func (p *point) row() []string {
	s := p.sum
	peak, mean := s.pendingText()
	return []string{
		string(p.variant.Scheme), fmt.Sprint(p.goroutines),
		fmt.Sprintf("%.3g", s.mops), fmt.Sprintf("±%.0f%%", 100*s.spread()),
		fmt.Sprintf("%.1f", s.nsPerOp), fmt.Sprintf("%.3f", s.allocsPerOp), fmt.Sprintf("%.1f", s.bytesPerOp),
		peak, mean, fmt.Sprintf("%.1f", s.gcCycles), fmt.Sprintf("%.1f%%", 100*s.gcCPU),
		latency(s.p50), latency(s.p99), latency(s.p999),
	}
}

// table is the group's table: bigmap's shows its costs to the rest of
// the program (bigmap.go), the other structures' the point's own figures.
func (g *group) table() table {
	header, row := pointHeader, (*point).row
	if isBigmap(g.structure) {
		header, row = bigmapHeader, (*point).bigmapRow
	}
	t := table{header: header}
	for _, p := range g.points {
		t.rows = append(t.rows, row(p))
	}
	return t
}

// latency formats a duration with three significant digits, in the unit
// in which it reads below 1000 once rounded (%.3g writes 999.6 as 1e+03).
func latency(d time.Duration) string {
	if d < time.Microsecond {
		return fmt.Sprintf("%dns", d.Nanoseconds())
	}
	v := float64(d) / float64(time.Microsecond)
	for _, unit := range []string{"µs", "ms"} {
		if v < 999.5 {
			return fmt.Sprintf("%.3g%s", v, unit)
		}
		v /= 1000
	}
	return fmt.Sprintf("%.3gs", v)
}

func microTable(rs []*microResult) table {
	sc := slices.ContainsFunc(rs, func(r *microResult) bool { return r.scNsPerOp > 0 })
	t := table{header: []string{"benchmark", "ns/op", "allocs/op", "floor", "ratio", "goal"}}
	if sc {
		t.header = []string{"benchmark", "ns/op (asymmetric)", "allocs/op", "floor", "ratio", "ns/op (SC)", "ratio (SC)", "goal"}
	}
	for _, r := range rs {
		floor, ratio := "-", "-"
		if r.floor != nil {
			floor, ratio = r.floor.c.Name, fmt.Sprintf("%.2fx", r.ratio())
		}
		goal := r.c.Goal
		if goal == "" && r.c.Floor == "" {
			goal = "(floor)"
		}
		row := []string{r.c.Name, fmt.Sprintf("%.2f", r.nsPerOp), fmt.Sprintf("%.3g", r.allocsPerOp), floor, ratio}
		if sc {
			scNs, scRatio := "-", "-"
			if r.scNsPerOp > 0 {
				scNs = fmt.Sprintf("%.2f", r.scNsPerOp)
			}
			if x := r.scRatio(); x > 0 {
				scRatio = fmt.Sprintf("%.2fx", x)
			}
			row = append(row, scNs, scRatio)
		}
		t.rows = append(t.rows, append(row, goal))
	}
	return t
}

func robustTable(res *results) table {
	t := table{header: []string{"scheme", "churn Mops/s", "pending at end", "peak pending", "peak: first third / last third", "flat",
		"settled", "bound", "within bound", "oldest guard", "entered at"}}
	for _, r := range res.robust {
		peak, thirds, flat, settled, bound, within, age, site := fmt.Sprint(r.Result.Pending.Peak), "-", "-", "-", "-", "-", "-", "-"
		if first, last, ok := r.Thirds(); ok {
			thirds, flat = fmt.Sprintf("%d / %d", first, last), yesNo(r.Flat())
		}
		if r.Hazard != nil {
			peak = fmt.Sprint(max(r.Hazard.PeakPending, r.Result.Pending.Peak))
		}
		if r.Bound > 0 {
			bound, within = fmt.Sprint(r.Bound), yesNo(r.Within())
		}
		if r.Variant.Scheme == workload.EpochRobust {
			settled = fmt.Sprint(r.Settled)
		}
		if r.Epoch != nil {
			age = r.Epoch.OldestGuardAge.Round(time.Millisecond).String()
			site = guardSite(r.Epoch.OldestGuardStack)
		}
		end := fmt.Sprint(r.Result.Pending.Last)
		if r.Result.Cut {
			end += " (cut: limit)"
		}
		t.rows = append(t.rows, []string{string(r.Variant.Scheme), fmt.Sprintf("%.3g", r.Result.OpsPerSec()/1e6),
			end, peak, thirds, flat, settled, bound, within, age, site})
	}
	return t
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// guardSite is the first frame outside package epoch in an epoch
// guard-tracking stack: the function that entered the guard and where, as
// "pkg.fn (file.go:12)".
func guardSite(stack string) string {
	lines := strings.Split(stack, "\n")
	for i := 0; i+1 < len(lines); i += 2 {
		fn, loc := lines[i], strings.TrimSpace(lines[i+1])
		if fn != "" && !strings.HasPrefix(fn, epochPkg+".") {
			return fmt.Sprintf("%s (%s)", path.Base(fn), path.Base(loc))
		}
	}
	return "-"
}

// epochPkg is package epoch's import path, whose frames guardSite skips.
var epochPkg = reflect.TypeFor[epoch.Stats]().PkgPath()
