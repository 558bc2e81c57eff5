package workload

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// spin busy-waits for d (a sleep would be rounded up to the timer slack).
func spin(d time.Duration) {
	for t := time.Now(); time.Since(t) < d; {
	}
}

// A stack or queue alternates push and pop, so half of its operations are
// pops: the latency quantiles must see them. Here a pop takes 20µs and a
// push nothing, so the 99th percentile must be a pop's.
func TestPairedLatencyTimesPops(t *testing.T) {
	w := Worker{
		Insert: func(uint64) bool { return true },
		Delete: func(uint64) bool { spin(20 * time.Microsecond); return true },
	}
	inst := &Instance{NewWorker: func() Worker { return w }}
	res, err := Run(inst, Config{
		Structure:    &Structure{Name: "fake-stack", Paired: true},
		Keys:         1024,
		Goroutines:   1,
		OpsPerWorker: 64 * 40,
		Seed:         1,
	})
	require.NoError(t, err)
	require.GreaterOrEqual(t, res.Latency.Samples, uint64(20))
	require.GreaterOrEqual(t, res.Latency.P99, 10*time.Microsecond,
		"p99 %v: no pop was ever timed (every timed operation is the first of a 64-op batch, always a push)", res.Latency.P99)
}

// Quantiles of merged per-goroutine histograms are those of all samples
// together (nearest rank within the bucket resolution).
func TestMergedQuantiles(t *testing.T) {
	var a, b, all histogram
	for i := 1; i <= 900; i++ {
		a.record(time.Duration(i) * time.Microsecond)
		all.record(time.Duration(i) * time.Microsecond)
	}
	for i := 901; i <= 1000; i++ {
		b.record(time.Duration(i) * time.Microsecond)
		all.record(time.Duration(i) * time.Microsecond)
	}
	var m histogram
	m.merge(&a)
	m.merge(&b)
	require.Equal(t, all.latency(), m.latency())
	l := m.latency()
	require.InEpsilon(t, float64(990*time.Microsecond), float64(l.P99), 1.0/32)
	require.InEpsilon(t, float64(999*time.Microsecond), float64(l.P999), 1.0/32)
	require.InEpsilon(t, float64(500*time.Microsecond), float64(l.P50), 1.0/32)
}

// A run's GC figures are its own: a run that allocates much has cycles
// and a GC CPU share in (0, 1); one that allocates nothing right after has
// none, whatever the earlier run cost.
func TestGCFiguresAreTheRunsOwn(t *testing.T) {
	var sink []byte
	alloc := Worker{
		Read:   func(uint64) bool { return true },
		Insert: func(uint64) bool { sink = make([]byte, 4096); return true },
		Delete: func(uint64) bool { sink = make([]byte, 4096); return true },
	}
	_ = sink
	cfg := Config{Structure: &Structure{Name: "fake"}, Keys: 16, Mix: Mix{Read: 0}, Goroutines: 1, OpsPerWorker: 64 * 800}
	res, err := Run(&Instance{NewWorker: func() Worker { return alloc }}, cfg)
	require.NoError(t, err)
	require.Positive(t, res.GCCycles)
	require.Greater(t, res.GCCPU, 0.0)
	require.Less(t, res.GCCPU, 1.0)

	quiet := Worker{Read: func(uint64) bool { return true }}
	cfg.Mix = Mix{Read: 100}
	res, err = Run(&Instance{NewWorker: func() Worker { return quiet }}, cfg)
	require.NoError(t, err)
	require.Zero(t, res.GCCycles, "the forced collection before the run is not the run's")
	require.Zero(t, res.GCCPU)
	require.Less(t, res.AllocsPerOp(), 0.01)
}
