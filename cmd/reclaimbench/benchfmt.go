package main

import (
	"fmt"
	"io"
	"strings"
)

// writeBenchstat writes benchstat.txt in the Go benchmark format: one line
// per run, so that `benchstat old.txt new.txt` compares two invocations.
// Workload names carry their parameters as key=value parts
// (BenchmarkWorkload/structure=map/mix=90-10/keys=small/scheme=gc/goroutines=4-2),
// which benchstat's -col and -row flags can pivot on, for example
// `benchstat -col /scheme benchstat.txt`.
func writeBenchstat(dir string, res *results) error {
	return writeFile(dir, "benchstat.txt", func(w io.Writer) { writeBenchLines(w, res) })
}

func writeBenchLines(w io.Writer, res *results) {
	m := res.machine
	fmt.Fprintf(w, "goos: %s\ngoarch: %s\npkg: github.com/go-reclaim/reclaim/bench\n", m.goos, m.goarch)
	if m.cpu != "" {
		fmt.Fprintf(w, "cpu: %s\n", m.cpu)
	}
	for _, r := range res.micro {
		for _, br := range r.runs {
			fmt.Fprintf(w, "Benchmark%s-%d\t%s\t%s\n", r.c.Name, m.gomaxprocs, br.String(), br.MemString())
		}
	}
	for _, p := range res.points {
		name := fmt.Sprintf("BenchmarkWorkload/structure=%s/mix=%s/keys=%s/scheme=%s/goroutines=%d-%d",
			p.variant.Structure.Name, p.mix.Slug(), p.keys.Name, p.variant.Scheme, p.goroutines, m.gomaxprocs)
		for _, r := range p.runs {
			var b strings.Builder
			fmt.Fprintf(&b, "%s\t%d\t%.2f ns/op\t%.4g Mops/s\t%.2f B/op\t%.3f allocs/op\t%d p99-ns\t%.3g gc-cpu-%%",
				name, r.Ops, r.NsPerOp(), r.OpsPerSec()/1e6, r.BytesPerOp(), r.AllocsPerOp(), r.Latency.P99.Nanoseconds(), 100*r.GCCPU)
			if r.Pending != nil {
				fmt.Fprintf(&b, "\t%d peak-pending", r.Pending.Peak)
			}
			fmt.Fprintln(w, b.String())
		}
	}
}
