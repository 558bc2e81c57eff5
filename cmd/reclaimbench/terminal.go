package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// printTables prints the results as aligned tables: microbenchmarks,
// one table per structure, key range and mix, the targets, and the
// robustness run.
func printTables(w io.Writer, res *results) {
	if res.partial {
		fmt.Fprintf(w, "partial results: interrupted after %v\n\n", res.took.Round(time.Second))
	}
	if len(res.micro) > 0 {
		fmt.Fprintf(w, "microbenchmarks (median of %d, ratio to the floor measured in the same run)\n", res.opts.count)
		printTable(w, microTable(res.micro))
	}
	for _, g := range groups(res.points) {
		fmt.Fprintf(w, "%s (median of %d runs of %v)\n", g.title(), res.opts.reps, res.opts.duration)
		printTable(w, g.table())
	}
	if ts := evaluateTargets(res); len(ts) > 0 {
		fmt.Fprintln(w, "targets")
		printTable(w, targetTable(ts))
	}
	if len(res.robust) > 0 {
		fmt.Fprintf(w, "robustness: one reader stalled for %v while %d goroutines churn %s\n",
			res.opts.robust, res.machine.gomaxprocs, res.robust[0].Variant.Structure.Name)
		printTable(w, robustTable(res))
	}
}

func printTable(w io.Writer, t table) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, strings.Join(t.header, "\t")+"\t")
	for _, r := range t.rows {
		fmt.Fprintln(tw, strings.Join(r, "\t")+"\t")
	}
	tw.Flush()
	fmt.Fprintln(w)
}
