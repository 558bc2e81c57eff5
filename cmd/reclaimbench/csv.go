package main

import (
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
)

// writeCSV writes a header and rows to dir/name.
func writeCSV(dir, name string, header []string, rows [][]string) error {
	return writeFile(dir, name, func(w io.Writer) {
		cw := csv.NewWriter(w)
		_ = cw.Write(header) // only write errors, which writeFile reports
		_ = cw.WriteAll(rows)
	})
}

func ftoa(x float64) string { return strconv.FormatFloat(x, 'g', 6, 64) }

// bytesText is a median of byte counts, whole (ftoa would round a heap of
// gigabytes to 6 digits in exponent form).
func bytesText(x float64) string { return strconv.FormatFloat(x, 'f', 0, 64) }

// pointKey is the columns that name a point, first in every workload CSV.
var pointKey = []string{"structure", "mix", "keys", "key_range", "scheme", "goroutines"}

func (p *point) key() []string {
	return []string{p.variant.Structure.Name, p.mix.String(), p.keys.Name, fmt.Sprint(p.keys.N),
		string(p.variant.Scheme), fmt.Sprint(p.goroutines)}
}

// writeResultsCSV writes results.csv: one row per measured run.
func writeResultsCSV(dir string, res *results) error {
	header := append(append([]string{}, pointKey...), "rep", "ops", "seconds", "mops", "ns_op",
		"allocs_op", "bytes_op", "pending_peak", "pending_mean", "gc_cycles", "gc_cpu", "p50_ns", "p99_ns", "p999_ns", "heap_live_bytes", "heap_scan_bytes", "rss_bytes", "read_p99_ns", "read_p999_ns")
	var rows [][]string
	for _, p := range res.points {
		for i, r := range p.runs {
			peak, mean := "", ""
			if r.Pending != nil {
				peak, mean = fmt.Sprint(r.Pending.Peak), ftoa(r.Pending.Mean)
			}
			rows = append(rows, append(p.key(), fmt.Sprint(i+1), fmt.Sprint(r.Ops), ftoa(r.Elapsed.Seconds()),
				ftoa(r.OpsPerSec()/1e6), ftoa(r.NsPerOp()), ftoa(r.AllocsPerOp()), ftoa(r.BytesPerOp()),
				peak, mean, fmt.Sprint(r.GCCycles), ftoa(r.GCCPU),
				fmt.Sprint(r.Latency.P50.Nanoseconds()), fmt.Sprint(r.Latency.P99.Nanoseconds()), fmt.Sprint(r.Latency.P999.Nanoseconds()),
				fmt.Sprint(r.HeapLive), fmt.Sprint(r.HeapScan), fmt.Sprint(r.RSS),
				fmt.Sprint(r.ReadLatency.P99.Nanoseconds()), fmt.Sprint(r.ReadLatency.P999.Nanoseconds())))
		}
	}
	return writeCSV(dir, "results.csv", header, rows)
}

// writeSummaryCSV writes summary.csv: one row per point, medians of its
// runs and the throughput's range.
func writeSummaryCSV(dir string, res *results) error {
	header := append(append([]string{}, pointKey...), "runs", "mops_median", "mops_min", "mops_max",
		"ns_op", "allocs_op", "bytes_op", "pending_peak", "pending_mean", "gc_cycles", "gc_cpu", "p50_ns", "p99_ns", "p999_ns",
		"heap_live_bytes", "heap_scan_bytes", "rss_bytes", "read_p99_ns", "read_p999_ns")
	var rows [][]string
	for _, p := range res.points {
		s := p.sum
		peak, mean := "", ""
		if s.pending {
			peak, mean = fmt.Sprint(s.pendingPeak), ftoa(s.pendingMean)
		}
		rows = append(rows, append(p.key(), fmt.Sprint(len(p.runs)), ftoa(s.mops), ftoa(s.mopsMin), ftoa(s.mopsMax),
			ftoa(s.nsPerOp), ftoa(s.allocsPerOp), ftoa(s.bytesPerOp), peak, mean, ftoa(s.gcCycles), ftoa(s.gcCPU),
			fmt.Sprint(s.p50.Nanoseconds()), fmt.Sprint(s.p99.Nanoseconds()), fmt.Sprint(s.p999.Nanoseconds()),
			bytesText(s.heapLive), bytesText(s.heapScan), bytesText(s.rss), fmt.Sprint(s.readP99.Nanoseconds()), fmt.Sprint(s.readP999.Nanoseconds())))
	}
	return writeCSV(dir, "summary.csv", header, rows)
}

// writeRobustCSV writes robustness.csv: pending objects over time.
func writeRobustCSV(dir string, res *results) error {
	var rows [][]string
	for _, r := range res.robust {
		for _, s := range r.Result.Series {
			rows = append(rows, []string{r.Variant.Structure.Name, string(r.Variant.Scheme), ftoa(s.At.Seconds()), fmt.Sprint(s.Pending)})
		}
	}
	return writeCSV(dir, "robustness.csv", []string{"structure", "scheme", "seconds", "pending"}, rows)
}

// writeMicroCSV writes micro.csv: the microbenchmarks' medians.
func writeMicroCSV(dir string, res *results) error {
	var rows [][]string
	for _, r := range res.micro {
		floor, ratio := "", ""
		if r.floor != nil {
			floor, ratio = r.floor.c.Name, ftoa(r.ratio())
		}
		rows = append(rows, []string{r.c.Name, ftoa(r.nsPerOp), ftoa(r.allocsPerOp), floor, ratio, r.c.Goal})
	}
	return writeCSV(dir, "micro.csv", []string{"benchmark", "ns_op", "allocs_op", "floor", "ratio_to_floor", "goal"}, rows)
}
