// Command reclaimbench runs the reclaim benchmark suite in-process and
// prints each result beside the floor measured in the same run, as a ratio.
//
// Usage:
//
//	go run ./cmd/reclaimbench [-count n] [-benchtime d] [-run regexp]
//
// With -count above 1 each row shows the median of the runs. The raw
// results are also printed in the benchmark format, so two runs can be
// compared with benchstat (golang.org/x/perf/cmd/benchstat).
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"regexp"
	"runtime"
	"slices"
	"testing"
	"text/tabwriter"
	"time"

	"github.com/go-reclaim/reclaim/bench"
)

func main() {
	testing.Init()
	fs := flag.NewFlagSet("reclaimbench", flag.ContinueOnError)
	count := fs.Int("count", 1, "runs of each benchmark; rows show the median")
	benchtime := fs.Duration("benchtime", 300*time.Millisecond, "target duration of each run")
	run := fs.String("run", "", "only benchmarks whose name matches this regexp (floors always run)")
	raw := fs.String("raw", "", "also write benchstat-compatible lines to this file")
	if err := fs.Parse(os.Args[1:]); err != nil {
		os.Exit(2)
	}
	if *count < 1 || *benchtime <= 0 {
		fmt.Fprintln(os.Stderr, "reclaimbench: -count must be at least 1 and -benchtime positive")
		os.Exit(2)
	}
	filter, err := regexp.Compile(*run)
	if err != nil {
		fmt.Fprintf(os.Stderr, "reclaimbench: -run: %v\n", err)
		os.Exit(2)
	}
	if err := flag.Set("test.benchtime", benchtime.String()); err != nil {
		panic(err)
	}
	var rawOut io.Writer = io.Discard
	if *raw != "" {
		f, err := os.Create(*raw)
		if err != nil {
			fmt.Fprintf(os.Stderr, "reclaimbench: %v\n", err)
			os.Exit(1)
		}
		defer f.Close()
		rawOut = f
	}
	if err := runSuite(os.Stdout, rawOut, bench.Suite, filter, *count); err != nil {
		fmt.Fprintf(os.Stderr, "reclaimbench: %v\n", err)
		os.Exit(1)
	}
}

type result struct {
	nsPerOp     float64
	allocsPerOp int64
}

func runSuite(out, raw io.Writer, cases []bench.Case, filter *regexp.Regexp, count int) error {
	fmt.Fprintf(raw, "goos: %s\ngoarch: %s\npkg: github.com/go-reclaim/reclaim/bench\n", runtime.GOOS, runtime.GOARCH)
	results := map[string]result{}
	for _, c := range cases {
		if c.Floor != "" && !filter.MatchString(c.Name) {
			continue
		}
		var ns []float64
		var allocs int64
		for range count {
			r := testing.Benchmark(c.Run)
			if r.N == 0 {
				return fmt.Errorf("benchmark %s failed", c.Name)
			}
			ns = append(ns, float64(r.T.Nanoseconds())/float64(r.N))
			allocs = r.AllocsPerOp()
			fmt.Fprintf(raw, "Benchmark%s-%d\t%s\n", c.Name, runtime.GOMAXPROCS(0), r.String()+"\t"+r.MemString())
		}
		slices.Sort(ns)
		results[c.Name] = result{nsPerOp: ns[len(ns)/2], allocsPerOp: allocs}
		fmt.Fprintf(os.Stderr, ".")
	}
	fmt.Fprintln(os.Stderr)

	w := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(out, "reclaim benchmarks: GOMAXPROCS=%d, %s/%s, %d run(s) each, median shown\n\n", runtime.GOMAXPROCS(0), runtime.GOOS, runtime.GOARCH, count)
	fmt.Fprintln(w, "benchmark\tns/op\tallocs/op\tfloor\tratio\tgoal\t")
	for _, c := range cases {
		r, ok := results[c.Name]
		if !ok {
			continue
		}
		floor, ratio := "-", "-"
		if f, ok := results[c.Floor]; ok && c.Floor != "" {
			floor = c.Floor
			ratio = fmt.Sprintf("%.2fx", r.nsPerOp/f.nsPerOp)
		}
		goal := c.Goal
		if goal == "" && c.Floor == "" {
			goal = "(floor)"
		}
		fmt.Fprintf(w, "%s\t%.2f\t%d\t%s\t%s\t%s\t\n", c.Name, r.nsPerOp, r.allocsPerOp, floor, ratio, goal)
	}
	return w.Flush()
}
