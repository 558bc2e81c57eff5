package workload

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// fake counts the operations it is given; each Insert allocates one
// 64-byte object and nothing else allocates.
type fake struct {
	reads, inserts, deletes atomic.Uint64
}

var fakeSink atomic.Pointer[[64]byte]

func (f *fake) instance() *Instance {
	w := Worker{
		Read:   func(uint64) bool { f.reads.Add(1); return true },
		Insert: func(uint64) bool { f.inserts.Add(1); fakeSink.Store(new([64]byte)); return true },
		Delete: func(uint64) bool { f.deletes.Add(1); return true },
	}
	return &Instance{
		NewWorker: func() Worker { return w },
		Pending:   func() uint64 { return f.inserts.Load() - f.deletes.Load() + 1<<20 },
	}
}

func TestRunCountsOpsAndAllocs(t *testing.T) {
	const goroutines, perWorker = 3, 30000
	var f fake
	res, err := Run(f.instance(), Config{
		Structure:    &Structure{Name: "fake"},
		Keys:         1000,
		Mix:          Mix{Read: 50},
		Goroutines:   goroutines,
		OpsPerWorker: perWorker,
		Seed:         1,
	})
	require.NoError(t, err)

	const total = goroutines * perWorker
	require.EqualValues(t, total, res.Ops)
	reads, inserts, deletes := f.reads.Load(), f.inserts.Load(), f.deletes.Load()
	require.EqualValues(t, total, reads+inserts+deletes, "every counted operation ran once")
	require.InEpsilon(t, total/2, reads, 0.03, "50/50: half are reads")
	require.InEpsilon(t, inserts, deletes, 0.05, "updates split evenly")

	// The allocator counts at span granularity and the run itself makes a
	// few objects (sampler, channels): allow a little over one per insert.
	require.GreaterOrEqual(t, float64(res.Allocs), 0.98*float64(inserts))
	require.LessOrEqual(t, float64(res.Allocs), 1.02*float64(inserts)+64)
	require.InEpsilon(t, 64*float64(inserts), float64(res.Bytes), 0.05)
	require.InEpsilon(t, float64(inserts)/total, res.AllocsPerOp(), 0.05)

	batches := goroutines * ((perWorker + batch - 1) / batch)
	require.EqualValues(t, batches, res.Latency.Samples, "one timed operation per batch")
	require.LessOrEqual(t, res.Latency.P50, res.Latency.P99)
	require.LessOrEqual(t, res.Latency.P99, res.Latency.P999)

	require.NotNil(t, res.Pending)
	require.GreaterOrEqual(t, res.Pending.Samples, 2)
	require.GreaterOrEqual(t, res.Pending.Peak, uint64(1<<20))
	require.LessOrEqual(t, res.Pending.Mean, float64(res.Pending.Peak))
}

func TestRunPairedAlternates(t *testing.T) {
	var f fake
	res, err := Run(f.instance(), Config{
		Structure:    &Structure{Name: "fake", Paired: true},
		Keys:         10,
		Goroutines:   2,
		OpsPerWorker: 1000,
	})
	require.NoError(t, err)
	require.EqualValues(t, 2000, res.Ops)
	require.Zero(t, f.reads.Load(), "a paired structure is never read")
	require.EqualValues(t, 1000, f.inserts.Load())
	require.EqualValues(t, 1000, f.deletes.Load())
}

func TestRunForDuration(t *testing.T) {
	var f fake
	res, err := Run(f.instance(), Config{
		Structure:  &Structure{Name: "fake"},
		Keys:       100,
		Mix:        Mix{Read: 90},
		Goroutines: 2,
		Duration:   20 * time.Millisecond,
		Series:     true,
	})
	require.NoError(t, err)
	require.Positive(t, res.Ops)
	require.GreaterOrEqual(t, res.Elapsed, 20*time.Millisecond)
	require.EqualValues(t, f.reads.Load()+f.inserts.Load()+f.deletes.Load(), res.Ops)
	require.Len(t, res.Series, res.Pending.Samples)
	require.False(t, res.Cut)
}

func TestRunStopsAtMaxPending(t *testing.T) {
	var f fake
	res, err := Run(f.instance(), Config{
		Structure:   &Structure{Name: "fake"},
		Keys:        100,
		Goroutines:  1,
		Duration:    time.Minute,
		SampleEvery: time.Millisecond,
		MaxPending:  1, // the fake always reports more
	})
	require.NoError(t, err)
	require.True(t, res.Cut)
	require.Less(t, res.Elapsed, time.Minute)
}

func TestRunRejectsBadConfig(t *testing.T) {
	inst := new(fake).instance()
	s := &Structure{Name: "fake"}
	for name, cfg := range map[string]Config{
		"no structure":  {Keys: 1, Goroutines: 1, Duration: time.Second},
		"no goroutines": {Structure: s, Keys: 1, Duration: time.Second},
		"no keys":       {Structure: s, Goroutines: 1, Duration: time.Second},
		"no length":     {Structure: s, Keys: 1, Goroutines: 1},
		"bad mix":       {Structure: s, Keys: 1, Goroutines: 1, Duration: time.Second, Mix: Mix{Read: 101}},
	} {
		_, err := Run(inst, cfg)
		require.Error(t, err, name)
	}
}

func TestPrefill(t *testing.T) {
	var f fake
	Prefill(f.instance(), Config{Structure: &Structure{Name: "fake"}, Keys: 10000, Seed: 3})
	require.InEpsilon(t, 5000, f.inserts.Load(), 0.05, "about half the keys")

	var p fake
	Prefill(p.instance(), Config{Structure: &Structure{Name: "fake", Paired: true}, Keys: 1000})
	require.EqualValues(t, 500, p.inserts.Load())
}
