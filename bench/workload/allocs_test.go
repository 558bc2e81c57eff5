//go:build !race

// The race detector's sync.Pool drops items at random, so allocation counts
// are only meaningful without it; .ci/run runs these tests separately.

package workload

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// The adapters add no allocation of their own: an epoch guard entered in a
// Worker's closure stays on the stack, so reads allocate nothing, and the
// recycling schemes' updates allocate (almost) nothing at steady state.
func TestAllocsAdapters(t *testing.T) {
	for _, v := range Variants() {
		if v.Scheme != EpochPool && v.Scheme != EpochRobust && v.Scheme != Hazard && v.Scheme != Offheap {
			continue
		}
		t.Run(v.Name(), func(t *testing.T) {
			keys := min(v.Structure.KeyRanges[0].N, smallKeys)
			inst := v.New(Options{Capacity: v.Structure.Capacity(keys, 1)})
			Prefill(inst, Config{Structure: v.Structure, Keys: keys})
			w := inst.NewWorker()
			var k uint64
			update := func() {
				k = (k + 7) % keys
				w.Insert(k)
				w.Delete(k)
			}
			for range 100000 {
				update()
			}
			require.Less(t, testing.AllocsPerRun(10000, update), 0.01)
			if !v.Structure.Paired {
				require.Zero(t, testing.AllocsPerRun(10000, func() { k = (k + 7) % keys; w.Read(k) }))
			}
			w.Close()
			require.NoError(t, inst.Close())
		})
	}
}
