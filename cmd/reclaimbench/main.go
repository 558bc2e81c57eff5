// Command reclaimbench runs the reclaim benchmark suite in-process: the
// library's lock-free containers (stack, queue, set, map) under each
// reclamation scheme (GC-only, epoch with Pool, hazard pointers) beside
// the Go alternatives (channels, mutexes, sync.Map, xsync), for read/update
// mixes, key ranges and goroutine counts; a robustness run in which one
// reader stalls; and the microbenchmarks of package bench, each beside the
// floor measured in the same run.
//
// Usage:
//
//	go run ./cmd/reclaimbench -quick            # under a minute, every scheme
//	go run ./cmd/reclaimbench -out results      # the full suite
//	go run ./cmd/reclaimbench -h                # every flag
//
// -cpuprofile profiles the whole invocation: narrow it to the cell in
// question (-structures set -schemes hazard -workloads 90/10 ...) and read
// it with `go tool pprof`.
//
// It prints tables and writes to -out: results.csv (every run),
// summary.csv (medians), robustness.csv, micro.csv, report.md (tables,
// targets, plots), plots/*.png, and benchstat.txt, which
// golang.org/x/perf/cmd/benchstat compares across runs. A bad flag exits
// with status 2; an output folder that cannot be written is reported before
// any benchmark runs.
//
// It needs no source tree: `go build ./cmd/reclaimbench` makes one binary
// to copy to a machine with more cores.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"testing"
	"time"
)

func main() {
	testing.Init() // registers the flags testing.Benchmark reads
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run is the whole command; it returns the exit status.
func run(args []string, stdout, stderr io.Writer) int {
	o, err := parseFlags(args, stderr)
	switch {
	case errors.Is(err, flag.ErrHelp):
		return 0
	case err != nil:
		return 2
	}
	if err := prepareOut(o.out); err != nil {
		fmt.Fprintf(stderr, "reclaimbench: %v\n", err)
		return 1
	}
	stopProfile, err := startProfile(o.cpuprofile)
	if err != nil {
		fmt.Fprintf(stderr, "reclaimbench: %v\n", err)
		return 1
	}
	res, err := runSuite(o, stdout, stderr)
	if perr := stopProfile(); err == nil {
		err = perr
	}
	if err != nil {
		fmt.Fprintf(stderr, "reclaimbench: %v\n", err)
		return 1
	}
	printTables(stdout, res)
	if err := writeOutputs(res); err != nil {
		fmt.Fprintf(stderr, "reclaimbench: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "\nwrote %s (report.md, CSV, plots, benchstat.txt) in %s\n", o.out, res.took.Round(time.Second))
	return 0
}
