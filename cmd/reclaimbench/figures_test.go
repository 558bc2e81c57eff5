package main

import (
	"bytes"
	"io"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/go-reclaim/reclaim/bench"
	"github.com/go-reclaim/reclaim/bench/workload"
)

// -workloads takes any read/update mix (ParseMix accepts 75/25, the
// engine runs any Read in 0..100): one it accepts must be measured, not
// silently dropped from the plan.
func TestWorkloadsFlagNotIgnored(t *testing.T) {
	o, err := parseFlags([]string{"-structures", "set,stack", "-schemes", "gc", "-workloads", "75/25",
		"-goroutines", "1", "-micro=false", "-robust", "0"}, io.Discard)
	if err != nil {
		return // refused: not ignored
	}
	var mixes []workload.Mix
	for _, c := range plan(o) {
		if c.variant.Structure.Name == "set" {
			mixes = append(mixes, c.mix)
		}
	}
	require.Contains(t, mixes, workload.Mix{Read: 75}, "-workloads 75/25 accepted, but the set is measured at none of it")
}

// -run: "only microbenchmarks matching this regexp, and the floors they
// are compared with": every selected case's floor must be selected, or its
// ratio is "-", and nothing else is (every floor ran, the 96 MiB table of
// the Misses floor included, whatever -run said).
func TestRunSelectsOnlyMatchesAndTheirFloors(t *testing.T) {
	var names []string
	for _, c := range microCases(regexp.MustCompile("^ArcStore$")) {
		names = append(names, c.Name)
	}
	require.Equal(t, []string{"RefcountAddPair", "ArcStore"}, names)
	names = nil
	for _, c := range microCases(regexp.MustCompile("^ArcCloneRelease$")) {
		names = append(names, c.Name)
	}
	require.Equal(t, []string{"RefcountAddPair", "ArcCloneRelease"}, names)
}

// Every selected case's floor must be selected, or its ratio is "-".
func TestRunSelectsFloorsOfFloors(t *testing.T) {
	for _, re := range []string{"mode=robust", "Helper", "EpochEnterExit/mode=robust"} {
		cs := microCases(regexp.MustCompile(re))
		have := map[string]bool{}
		for _, c := range cs {
			have[c.Name] = true
		}
		for _, c := range cs {
			if c.Floor != "" {
				require.True(t, have[c.Floor], "-run %s selects %s but not its floor %s: its ratio shows -", re, c.Name, c.Floor)
			}
		}
	}
}

// latency() formats to three significant digits without exponents.
func TestLatencyFormat(t *testing.T) {
	for _, d := range []time.Duration{999, 1500, 999_400, 999_600, 1_500_000, 999_700_000, 2 * time.Second} {
		s := latency(d)
		require.NotContains(t, s, "e+", "latency(%v) = %q", d, s)
	}
}

func fakeRun(ops uint64, elapsed time.Duration, p99 time.Duration, gcCPU float64, peak uint64, mean float64) workload.Result {
	return workload.Result{
		Ops: ops, Elapsed: elapsed, Allocs: ops / 2, Bytes: ops * 8, GCCycles: 3, GCCPU: gcCPU,
		Latency:  workload.Latency{P50: p99 / 10, P99: p99, P999: 2 * p99},
		HeapLive: 1e6, HeapScan: 5e5, RSS: 2e7,
		Pending: &workload.Pending{Peak: peak, Mean: mean},
	}
}

// summarize: medians of the runs (odd and even counts), throughput's
// range, peak pending as the highest of any run.
func TestSummarizeMedians(t *testing.T) {
	runs := []workload.Result{
		fakeRun(3e6, time.Second, 300, 0.03, 10, 5),
		fakeRun(1e6, time.Second, 100, 0.01, 90, 1),
		fakeRun(2e6, time.Second, 200, 0.02, 40, 3),
	}
	s := summarize(runs)
	require.Equal(t, 2.0, s.mops)
	require.Equal(t, 1.0, s.mopsMin)
	require.Equal(t, 3.0, s.mopsMax)
	require.Equal(t, 500.0, s.nsPerOp)
	require.Equal(t, 200*time.Nanosecond, s.p99)
	require.Equal(t, 400*time.Nanosecond, s.p999)
	require.Equal(t, 0.02, s.gcCPU)
	require.EqualValues(t, 90, s.pendingPeak)
	require.Equal(t, 3.0, s.pendingMean)
	require.InDelta(t, 0.5, s.spread(), 1e-12)
	require.Equal(t, 3e6, float64(runs[0].Ops), "summarize leaves the runs in their order")

	s = summarize(runs[:2])
	require.Equal(t, 2.0, s.mops)
	require.Equal(t, 200*time.Nanosecond, s.p99)
	require.EqualValues(t, 90, s.pendingPeak)
	require.Equal(t, 3.0, s.pendingMean)
}

// benchstat.txt and results.csv carry each run under its own point, in
// the units their names say.
func TestBenchstatAndCSVUnits(t *testing.T) {
	st, _ := parseFlags([]string{"-structures", "stack", "-schemes", "gc,epoch-pool", "-goroutines", "1,4", "-micro=false", "-robust", "0"}, io.Discard)
	require.NotNil(t, st)
	cells := plan(st)
	require.Len(t, cells, 2)
	res := &results{opts: st, machine: machine{goos: "linux", goarch: "amd64", gomaxprocs: 2}}
	for ci, c := range cells {
		for _, g := range []int{1, 4} {
			p := &point{cell: c, goroutines: g}
			// throughput encodes the cell and count: (ci+1)*10 + g Mops/s
			mops := float64((ci+1)*10 + g)
			p.runs = []workload.Result{fakeRun(uint64(mops*1e6/2), 500*time.Millisecond, 1234, 0.125, uint64(7*g), 1)}
			if c.variant.Scheme == workload.GC {
				p.runs[0].Pending = nil
			}
			p.sum = summarize(p.runs)
			res.points = append(res.points, p)
		}
	}
	var b bytes.Buffer
	writeBenchLines(&b, res)
	re := regexp.MustCompile(`scheme=([a-z-]+)/goroutines=(\d+)-2\t(\d+)\t([0-9.]+) ns/op\t([0-9.]+) Mops/s.*\t(\d+) p99-ns\t([0-9.]+) gc-cpu-%`)
	n := 0
	for _, line := range strings.Split(b.String(), "\n") {
		m := re.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		n++
		g, _ := strconv.Atoi(m[2])
		ci := 0
		if m[1] == "epoch-pool" {
			ci = 1
		}
		mops, _ := strconv.ParseFloat(m[5], 64)
		require.InDelta(t, float64((ci+1)*10+g), mops, 1e-9, line)
		ns, _ := strconv.ParseFloat(m[4], 64)
		require.InDelta(t, 1e3/mops, ns, 0.01, line)
		require.Equal(t, "1234", m[6], line)
		require.Equal(t, "12.5", m[7], line)
		require.Equal(t, m[1] == "epoch-pool", strings.Contains(line, "peak-pending"), line)
		if m[1] == "epoch-pool" {
			require.Contains(t, line, "\t"+strconv.Itoa(7*g)+" peak-pending")
		}
	}
	require.Equal(t, 4, n, b.String())

	dir := t.TempDir()
	require.NoError(t, writeSummaryCSV(dir, res))
	require.NoError(t, writeResultsCSV(dir, res))
}

// The microbenchmarks' ratio is to the floor of the same name, measured
// in the same invocation, and ns/op is the median of the runs.
func TestMicroFloorLinkAndMedian(t *testing.T) {
	cases := []bench.Case{
		{Name: "F", Run: func(b *testing.B) {
			for b.Loop() {
			}
		}},
		{Name: "G", Run: func(b *testing.B) {
			for b.Loop() {
			}
		}},
		{Name: "X", Floor: "G", Run: func(b *testing.B) {
			for b.Loop() {
			}
		}},
	}
	rs, err := runMicro(cases, 3, time.Millisecond, func() bool { return false }, func(string) {})
	require.NoError(t, err)
	require.Len(t, rs, 3)
	require.Nil(t, rs[0].floor)
	require.Same(t, rs[1], rs[2].floor)
	for _, r := range rs {
		require.Len(t, r.runs, 3)
		ns := make([]float64, 3)
		for i, br := range r.runs {
			ns[i] = float64(br.T.Nanoseconds()) / float64(br.N)
		}
		require.Equal(t, median(ns), r.nsPerOp)
	}
	require.Equal(t, rs[2].nsPerOp/rs[1].nsPerOp, rs[2].ratio())
}

var allocSink *[64]byte

// A case that allocates on every other operation has 0.5 allocs/op; the
// micro table and micro.csv must not show it as 0 (a "0 allocs" goal then
// looks met).
func TestMicroAllocsNotTruncated(t *testing.T) {
	cases := []bench.Case{{Name: "Half", Run: func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if i++; i%2 == 0 {
				allocSink = new([64]byte)
			}
		}
	}}}
	rs, err := runMicro(cases, 1, time.Millisecond, func() bool { return false }, func(string) {})
	require.NoError(t, err)
	row := microTable(rs).rows[0]
	require.NotEqual(t, "0", row[2], "allocs/op of a case allocating every other op: %v", row)
}
