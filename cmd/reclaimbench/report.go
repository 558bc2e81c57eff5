package main

import (
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/go-reclaim/reclaim/bench/workload"
)

// writeReport writes report.md: how the numbers were taken, the targets,
// a table and a plot per group, the robustness run and the
// microbenchmarks.
func writeReport(dir string, res *results, plots map[string]string, pending string) error {
	return writeFile(dir, "report.md", func(w io.Writer) { writeMarkdown(w, res, plots, pending) })
}

func writeMarkdown(w io.Writer, res *results, plots map[string]string, pending string) {
	o := res.opts
	fmt.Fprintf(w, "# reclaimbench report\n\n")
	if res.partial {
		fmt.Fprintf(w, "**Partial results:** the run was interrupted (Ctrl-C) after %v. The tables hold what was measured before; the last point measured may have fewer than %d runs (see the runs column of summary.csv), and later points, robustness runs and microbenchmarks are missing.\n\n",
			res.took.Round(time.Second), o.reps)
	}
	fmt.Fprintf(w, "- Machine: %s\n", res.machine)
	fmt.Fprintf(w, "- Command: `reclaimbench %s`\n", strings.Join(o.args, " "))
	fmt.Fprintf(w, "- Started %s, took %v\n", res.started.Format(time.RFC3339), res.took.Round(time.Second))
	if len(res.points) > 0 {
		fmt.Fprintf(w, "- Each point: the median of %d runs of %v at each goroutine count (%s), after a warm-up run at that count, on a structure prefilled to steady state once per scheme and then run at the counts in increasing order\n\n",
			o.reps, o.duration, joinInts(o.goroutines))
		fmt.Fprint(w, `How to read the tables: ± is the largest deviation of one run's throughput
from the median. ns/op is wall time per operation (all goroutines together).
allocs/op and B/op count the whole process's heap allocations during the run
(runtime/metrics). Pending objects (retired, not yet reclaimed, counted
from the moment of Retire, so a goroutine's open batch counts: one
goroutine on an epoch.Pool holds up to two batches of 64) are sampled about
200 times a run from the scheme's Stats; each run starts with the scheme's
Flush, so it counts only its own. GCs/run is garbage
collections per run; GC CPU is the collector's share of the CPU available
(GOMAXPROCS x wall time), the runtime's estimate as of the last collection
in the run. Latency: one operation in 63 is timed (an odd count, so that
the stack's and queue's timed operations alternate push and pop), the
cost of reading the clock subtracted; quantiles have 1/16 resolution.

`)
	}

	fmt.Fprintf(w, "## Schemes\n\n")
	writeMarkdownTable(w, schemeTable(o))
	fmt.Fprintf(w, "## Structures\n\n")
	writeMarkdownTable(w, structureTable(o))

	if ts := evaluateTargets(res); len(ts) > 0 {
		fmt.Fprintf(w, "## Targets\n\nWhere a structure has no pool-less epoch variant, \"epoch\" is its epoch.Pool variant. g is the number of goroutines. A verdict is marked indicative under -quick, with fewer than %d runs, or when a run's throughput differs from the median by more than %.0f%% in a point it compares.\n\n", finalRuns, 100*finalSpread)
		writeMarkdownTable(w, targetTable(ts))
	}

	if gs := groups(res.points); len(gs) > 0 {
		fmt.Fprintf(w, "## Results\n\n")
		if i := slices.IndexFunc(gs, func(g *group) bool { return isBigmap(g.structure) }); i >= 0 {
			fmt.Fprint(w, bigmapNote(gs[i].structure.CollectEvery))
		}
		for _, g := range gs {
			fmt.Fprintf(w, "### %s\n\n![throughput of %s](%s)\n\n", g.title(), g.title(), filepath.ToSlash(plots[g.slug()]))
			if isBigmap(g.structure) {
				fmt.Fprintf(w, "![GC CPU, latency and memory of %s](%s)\n\n", g.title(), filepath.ToSlash(plots[bigmapPlotFile(g)]))
			}
			writeMarkdownTable(w, g.table())
		}
	}

	if len(res.robust) > 0 {
		fmt.Fprintf(w, "## Robustness\n\n")
		fmt.Fprintf(w, "One goroutine enters an epoch guard (or protects one object with a hazard pointer, which is then retired) and sleeps for %v while %d goroutines run 0/100 updates on the %s (%d keys). The epoch collector tracks guards (WithGuardTracking), which slows its churn: every Enter records a stack. Runs stop early past %d pending objects.\n\n",
			o.robust, res.machine.gomaxprocs, res.robust[0].Variant.Structure.Name, res.robust[0].Variant.Structure.KeyRanges[0].N, robustMaxPending)
		fmt.Fprint(w, `Flat: the highest pending sample in the last third of the run is at most
twice the first third's, plus two batches of 64 for each churner, the
stalled reader and the aging timer; pending that
a stalled reader lets grow with the work done peaks near three times its
first third's level instead. Bounds: hazard's is package hazard's bound,
which holds at every moment and is checked against the domain's own peak.
epoch-robust's is package epoch's robust-mode bound for the stalled guard
alone once the others have exited, (2d+3)·O with O = N + W + S·B (S slots, B = 64, N the
structure's capacity, W the churners and the stalled reader, d the eras
the stalled guard reserved, at least 1); it is checked against "settled",
pending once the churners have stopped and the collector was flushed.
During the churn the bound also counts each churner's open guard by the
eras it spans, which a goroutine descheduled mid-operation makes unknown,
so the samples are judged by flatness, not against the bound.

`)
		fmt.Fprintf(w, "![pending objects over time](%s)\n\n", filepath.ToSlash(pending))
		writeMarkdownTable(w, robustTable(res))
		for _, r := range res.robust {
			if r.Epoch != nil && r.Epoch.OldestGuardStack != "" {
				fmt.Fprintf(w, "%s: Stats reports %d open guard(s), the oldest open for %v, entered at:\n\n```\n%s```\n\n",
					r.Variant.Name(), r.Epoch.Guards, r.Epoch.OldestGuardAge.Round(time.Millisecond), r.Epoch.OldestGuardStack)
			}
		}
	}

	if len(res.micro) > 0 {
		fmt.Fprintf(w, "## Microbenchmarks\n\nMedian of %d runs of about %v each (testing.Benchmark); each ratio is to a floor measured in the same run.\n\n", o.count, o.benchtime)
		writeMarkdownTable(w, microTable(res.micro))
	}

	fmt.Fprint(w, "## Files\n\n- results.csv: every measured run\n- summary.csv: one row per point: medians of its runs, but pending_peak, the highest of them\n- robustness.csv: pending objects over time\n- micro.csv: microbenchmarks on the default fence path (the SC column of -fences both, measured in a child process with RECLAIM_FENCE=sc, is in this report only)\n- benchstat.txt: every run in the Go benchmark format; compare two invocations with `benchstat old/benchstat.txt new/benchstat.txt`, or schemes with `benchstat -col /scheme benchstat.txt`\n- plots/: the plots above\n")
}

func writeMarkdownTable(w io.Writer, t table) {
	fmt.Fprintf(w, "| %s |\n", strings.Join(t.header, " | "))
	fmt.Fprintf(w, "|%s\n", strings.Repeat("---|", len(t.header)))
	for _, r := range t.rows {
		fmt.Fprintf(w, "| %s |\n", strings.Join(r, " | "))
	}
	fmt.Fprintln(w)
}

func schemeTable(o *options) table {
	t := table{header: []string{"scheme", "what is measured"}}
	for _, sc := range o.schemes {
		doc := sc.Doc()
		if !slices.ContainsFunc(o.structures, func(s *workload.Structure) bool { return s.Has(sc) }) {
			doc += " (not measured: no selected structure has this variant)"
		}
		t.rows = append(t.rows, []string{string(sc), doc})
	}
	return t
}

func structureTable(o *options) table {
	t := table{header: []string{"structure", "what", "key ranges", "schemes"}}
	for _, s := range o.structures {
		var krs, scs []string
		for _, kr := range s.KeyRanges {
			krs = append(krs, keyRangeText(s, kr))
		}
		for _, sc := range workload.Schemes() {
			if s.Has(sc) {
				scs = append(scs, string(sc))
			}
		}
		t.rows = append(t.rows, []string{s.Name, s.Doc, strings.Join(krs, ", "), strings.Join(scs, ", ")})
	}
	return t
}

// keyRangeText is a key range as the structure table shows it: "small
// 1024" keys for a set or map, "small: 512 elements" for a stack or queue,
// whose key range is the number of elements it is prefilled with, doubled.
func keyRangeText(s *workload.Structure, kr workload.KeyRange) string {
	if s.Paired {
		return fmt.Sprintf("%s: %d elements", kr.Name, kr.N/2)
	}
	return fmt.Sprintf("%s %d", kr.Name, kr.N)
}
