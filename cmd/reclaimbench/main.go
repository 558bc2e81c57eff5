// Command reclaimbench runs the reclaim benchmark suite in-process: the
// library's lock-free containers (stack, queue, set, map) under each
// reclamation scheme (GC-only, epoch with Pool in the classic and the
// robust mode, hazard pointers) beside
// the Go alternatives (channels, mutexes, sync.Map, xsync), for read/update
// mixes, key ranges and goroutine counts; a robustness run in which one
// reader stalls; and the microbenchmarks of package bench, each beside the
// floor measured in the same run. The opt-in bigmap structure (-structures
// bigmap, -bigmap-entries, ten million by default) sets the off-heap map
// against the Go heap's maps and the byte caches, and reports what each
// costs the garbage collector: its CPU share, the heap, RSS and the reads'
// tail latency.
//
// Usage:
//
//	go run ./cmd/reclaimbench -quick              # under a minute, every scheme
//	go run ./cmd/reclaimbench -out results        # the full suite
//	go run ./cmd/reclaimbench -structures bigmap  # the big map (long: see -dry-run)
//	go run ./cmd/reclaimbench -h                  # every flag
//
// -cpuprofile profiles the whole invocation: narrow it to the cell in
// question (-structures set -schemes hazard -workloads 90/10 ...) and read
// it with `go tool pprof`.
//
// It prints tables and writes to -out: results.csv (every run),
// summary.csv (medians of each point's runs; pending_peak the highest),
// robustness.csv, micro.csv, report.md (tables,
// targets, plots), plots/*.png, and benchstat.txt, which
// golang.org/x/perf/cmd/benchstat compares across runs; each replaces its
// namesake from an earlier run, and an earlier run's plots are removed.
// -dry-run lists
// the points a command line selects and the time they would take. Bad
// input (a bad flag, an output folder that cannot be created or written,
// checked before any benchmark runs) exits with status 2 after a one-line
// error.
//
// Ctrl-C (SIGINT) stops a run after the measurement under way, writes the
// tables, CSV and report of what was measured so far (the report says it
// is partial) and exits with status 130; a second Ctrl-C ends the process
// at once.
//
// It needs no source tree: `go build ./cmd/reclaimbench` makes one binary
// to copy to a machine with more cores.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"testing"
	"time"
)

// exitInterrupted is the exit status after Ctrl-C: 128 + SIGINT, as a
// shell reports a process that SIGINT ended.
const exitInterrupted = 130

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
	if o.scChild {
		return runSCChild(o, stdout, stderr)
	}
	if o.dryRun {
		writeDryRun(stdout, o)
		return 0
	}
	if err := prepareOut(o.out); err != nil {
		fmt.Fprintf(stderr, "reclaimbench: -out: %v\n", err)
		return 2
	}
	stopProfile, err := startProfile(o.cpuprofile)
	if err != nil {
		fmt.Fprintf(stderr, "reclaimbench: %v\n", err)
		return 2
	}
	ctx, stopSignals := interruptible(stderr)
	res, err := runSuite(ctx, o, stdout, stderr)
	stopSignals()
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
	if res.partial {
		fmt.Fprintf(stdout, "\ninterrupted: wrote the partial results to %s (report.md, CSV, plots, benchstat.txt) after %s\n", o.out, res.took.Round(time.Second))
		return exitInterrupted
	}
	fmt.Fprintf(stdout, "\nwrote %s (report.md, CSV, plots, benchstat.txt) in %s\n", o.out, res.took.Round(time.Second))
	return 0
}

// interruptible returns a context that the first Ctrl-C (SIGINT) ends,
// saying so on stderr; the second ends the process as usual. stop stops
// listening.
func interruptible(stderr io.Writer) (ctx context.Context, stop func()) {
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	exited := make(chan struct{})
	go func() {
		defer close(exited)
		select {
		case <-sigs:
			signal.Stop(sigs)
			fmt.Fprintln(stderr, "\nreclaimbench: interrupted: finishing the measurement under way, then writing what was measured (Ctrl-C again to quit at once)")
			cancel()
		case <-done:
		}
	}()
	return ctx, func() {
		signal.Stop(sigs)
		select {
		case <-done:
		default:
			close(done)
		}
		<-exited
		cancel()
	}
}
