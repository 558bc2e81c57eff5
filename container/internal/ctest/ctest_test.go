package ctest

import (
	"flag"
	"math/rand/v2"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
	"pgregory.net/rapid"

	"github.com/go-reclaim/reclaim/epoch"
	"github.com/go-reclaim/reclaim/hazard"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestRun(t *testing.T) {
	var ran [4]atomic.Int32
	first := make([]uint64, 4)
	Run(4, 7, func(w int, r *rand.Rand) { ran[w].Add(1); first[w] = r.Uint64() })
	for w := range ran {
		require.Equal(t, int32(1), ran[w].Load())
	}
	require.NotEqual(t, first[0], first[1], "each worker has its own source")
	again := make([]uint64, 4)
	Run(4, 7, func(w int, r *rand.Rand) { again[w] = r.Uint64() })
	require.Equal(t, first, again, "the same seed repeats")
}

func TestBuild(t *testing.T) {
	for _, mk := range Schemes() {
		s := mk()
		view := Build(s, 2,
			func() string { return "gc" },
			func(*epoch.Collector) string { return "epoch" },
			func(d *hazard.Domain) func(*hazard.Array) string {
				return func(hp *hazard.Array) string {
					hazard.Retire(d, new(int), func(*int) {})
					return "hazard"
				}
			})
		v, done := view()
		done()
		want := map[string]string{"GC": "gc", "Epoch": "epoch", "EpochRobust": "epoch", "Hazard": "hazard"}[s.Name]
		require.Equal(t, want, v)
		retired := 0
		if s.D != nil {
			retired = 1
		}
		CloseAndCount(t, s, retired)
	}
}

// counter is a trivial structure for the helpers: its views share a count.
type counter struct{ n *atomic.Int64 }

func openCounter(s Scheme) func() (counter, func()) {
	return Build(s, 1,
		func() counter { return counter{new(atomic.Int64)} },
		func(*epoch.Collector) counter { return counter{new(atomic.Int64)} },
		func(*hazard.Domain) func(*hazard.Array) counter {
			n := new(atomic.Int64)
			return func(*hazard.Array) counter { return counter{n} }
		})
}

func TestEachAndModel(t *testing.T) {
	var ran []string
	Each(t, openCounter, func(t *testing.T, view func() (counter, func())) int {
		c, done := view()
		c.n.Add(1)
		done()
		ran = append(ran, t.Name())
		return 0
	})
	require.Equal(t, []string{"TestEachAndModel/GC", "TestEachAndModel/Epoch", "TestEachAndModel/EpochRobust", "TestEachAndModel/Hazard"}, ran)
	Model(t, openCounter, func(rt *rapid.T, c counter) int {
		c.n.Add(int64(rapid.IntRange(0, 3).Draw(rt, "n")))
		return 0
	})
}

func TestBenchAndLoop(t *testing.T) {
	bt := flag.Lookup("test.benchtime")
	old := bt.Value.String()
	require.NoError(t, bt.Value.Set("10x"))
	defer bt.Value.Set(old)
	var keys []int
	r := testing.Benchmark(func(b *testing.B) {
		Bench(b, func(b *testing.B, s Scheme) {
			v, done := openCounter(s)()
			defer done()
			keys = keys[:0]
			Loop(b, v, 3, func(c counter, k int) { c.n.Add(1); keys = append(keys, k) })
		})
	})
	require.NotZero(t, r.N)
	require.Equal(t, []int{0, 1, 2, 0}, keys[:4])
}
