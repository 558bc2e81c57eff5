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

// Every variant survives a short concurrent run from its steady state,
// and the library's schemes report pending objects.
func TestVariantsRun(t *testing.T) {
	for _, v := range Variants() {
		t.Run(v.Name(), func(t *testing.T) {
			const g = 3
			keys := v.Structure.KeyRanges[0].N
			inst := v.New(Options{Capacity: v.Structure.Capacity(keys, g)})
			cfg := Config{Structure: v.Structure, Keys: keys, Mix: Mix{Read: 50}, Goroutines: g, OpsPerWorker: 3000, Seed: 9}
			Prefill(inst, cfg)
			res, err := Run(inst, cfg)
			require.NoError(t, err)
			require.EqualValues(t, g*3000, res.Ops)
			require.Equal(t, v.Scheme.Reclaims(), res.Pending != nil)
			if inst.Close != nil {
				require.NoError(t, inst.Close())
			}
		})
	}
}

func TestRobustness(t *testing.T) {
	for _, sc := range []Scheme{Epoch, EpochPool, Hazard} {
		v, ok := setStructure.Variant(sc)
		if !ok {
			continue
		}
		t.Run(v.Name(), func(t *testing.T) {
			r, err := Robustness(v, Config{
				Keys: setStructure.KeyRanges[0].N, Mix: Mix{Read: 0}, Goroutines: 2,
				Duration: 50 * time.Millisecond, MaxPending: 1 << 20,
			})
			require.NoError(t, err)
			require.NotEmpty(t, r.Result.Series)
			if sc == Hazard {
				require.NotNil(t, r.Hazard)
				require.True(t, r.Within(), "peak %d, bound %d", r.Hazard.PeakPending, r.Bound)
				return
			}
			require.NotNil(t, r.Epoch)
			require.GreaterOrEqual(t, r.Epoch.Guards, 1)
			require.Contains(t, r.Epoch.OldestGuardStack, "stallEpoch", "Stats names the stalled guard")
			require.False(t, r.Within())
		})
	}
	_, err := Robustness(Variant{Structure: setStructure, Scheme: GC, New: newSetGC}, Config{Keys: 8, Goroutines: 1, Duration: time.Millisecond})
	require.Error(t, err, "nothing to stall under gc")
}
