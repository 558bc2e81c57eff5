package workload

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// Each variant's Worker does what its operations say.
func TestVariantSemantics(t *testing.T) {
	for _, v := range Variants() {
		t.Run(v.Name(), func(t *testing.T) {
			inst := v.New(Options{Capacity: 64})
			w := inst.NewWorker()
			if v.Structure.Paired {
				require.False(t, w.Delete(0), "pop from empty")
				require.True(t, w.Insert(1))
				require.True(t, w.Insert(2))
				require.True(t, w.Delete(0))
				require.True(t, w.Delete(0))
				require.False(t, w.Delete(0), "empty again")
			} else {
				require.False(t, w.Read(7))
				require.True(t, w.Insert(7))
				require.False(t, w.Insert(7), "already present")
				require.True(t, w.Read(7))
				require.True(t, w.Delete(7))
				require.False(t, w.Delete(7), "already gone")
				require.False(t, w.Read(7))
			}
			if w.Close != nil {
				w.Close()
			}
			if inst.Close != nil {
				require.NoError(t, inst.Close())
			}
		})
	}
}

// smallKeys bounds the key range of the tests that prefill: bigmap's is
// twenty million.
const smallKeys = 4096

// Every variant survives a short concurrent run from its steady state,
// and the library's schemes report pending objects.
func TestVariantsRun(t *testing.T) {
	for _, v := range Variants() {
		t.Run(v.Name(), func(t *testing.T) {
			const g = 3
			keys := min(v.Structure.KeyRanges[0].N, smallKeys)
			inst := v.New(Options{Capacity: v.Structure.Capacity(keys, g)})
			cfg := Config{Structure: v.Structure, Keys: keys, Mix: Mix{Read: 50}, Goroutines: g, OpsPerWorker: 3000, Seed: 9}
			Prefill(inst, cfg)
			res, err := Run(inst, cfg)
			require.NoError(t, err)
			require.EqualValues(t, g*3000, res.Ops)
			require.Equal(t, v.Scheme.Reclaims(), res.Pending != nil)
			if inst.Collector != nil {
				require.Equal(t, v.Scheme == EpochRobust, inst.Collector.Robust(), "the collector's mode")
			}
			if inst.Close != nil {
				require.NoError(t, inst.Close())
			}
		})
	}
}

func TestRobustness(t *testing.T) {
	var vs []Variant
	for _, sc := range []Scheme{Epoch, EpochPool, EpochRobust, Hazard} {
		if v, ok := setStructure.Variant(sc); ok {
			vs = append(vs, v)
		}
	}
	v, ok := stackStructure.Variant(EpochRobust)
	require.True(t, ok)
	vs = append(vs, v)
	for _, v := range vs {
		t.Run(v.Name(), func(t *testing.T) {
			cfg := Config{
				Keys: v.Structure.KeyRanges[0].N, Mix: Mix{Read: 0}, Goroutines: 2,
				Duration: 50 * time.Millisecond, MaxPending: 1 << 20,
			}
			if v.Scheme == EpochRobust {
				// Long enough for a few samples in each third, with a
				// processor left for the sampler where there are two.
				cfg.Duration, cfg.Goroutines = 300*time.Millisecond, 1
			}
			r, err := Robustness(v, cfg)
			require.NoError(t, err)
			require.NotEmpty(t, r.Result.Series)
			if v.Scheme == Hazard {
				require.NotNil(t, r.Hazard)
				require.True(t, r.Within(), "peak %d, bound %d", r.Hazard.PeakPending, r.Bound)
				return
			}
			require.NotNil(t, r.Epoch)
			require.GreaterOrEqual(t, r.Epoch.Guards, 1)
			require.Contains(t, r.Epoch.OldestGuardStack, "stallEpoch", "Stats names the stalled guard")
			if v.Scheme != EpochRobust {
				require.False(t, r.Within())
				require.Zero(t, r.Bound)
				return
			}
			require.Positive(t, r.Bound)
			require.True(t, r.Within(), "settled %d, bound %d", r.Settled, r.Bound)
			first, last, ok := r.Thirds()
			if !ok {
				t.Skipf("too few samples (%d) to judge flatness: the sampler did not get a processor", len(r.Result.Series))
			}
			require.True(t, r.Flat(), "pending grew from a peak of %d in the first third to %d in the last", first, last)
		})
	}
	_, err := Robustness(Variant{Structure: setStructure, Scheme: GC, New: newSetGC}, Config{Keys: 8, Goroutines: 1, Duration: time.Millisecond})
	require.Error(t, err, "nothing to stall under gc")
}

// Flat tells a pending series that grows with the run from one that levels
// off, and declines to judge one with too few samples.
func TestRobustFlat(t *testing.T) {
	series := func(f func(i int) uint64) []Sample {
		s := []Sample{{At: 0, Pending: 0}} // before the churners start
		for i := 1; i <= 30; i++ {
			s = append(s, Sample{At: time.Duration(i) * 10 * time.Millisecond, Pending: f(i)})
		}
		return s
	}
	robust := func(s []Sample) Robust { return Robust{Result: Result{Goroutines: 2, Series: s}} }

	growing := robust(series(func(i int) uint64 { return uint64(i) * 1000 }))
	first, last, ok := growing.Thirds()
	require.True(t, ok)
	require.Equal(t, uint64(10000), first)
	require.Equal(t, uint64(30000), last)
	require.False(t, growing.Flat())

	level := robust(series(func(i int) uint64 { return 2000 + uint64(i%3)*300 }))
	require.True(t, level.Flat())

	_, _, ok = robust(series(func(int) uint64 { return 1 })[:3]).Thirds()
	require.False(t, ok, "two samples after the start")
	require.False(t, robust(nil).Flat())
}

// robustBound is the formula package epoch documents, with d at least 1.
func TestRobustBound(t *testing.T) {
	const s, b, n, w = 5, 64, 512, 3
	o := uint64(n + w + s*b)
	require.Equal(t, 5*o, robustBound(s, n, w, 0))
	require.Equal(t, 5*o, robustBound(s, n, w, 1))
	require.Equal(t, 9*o, robustBound(s, n, w, 3))
}
