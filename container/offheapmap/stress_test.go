package offheapmap_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/go-reclaim/reclaim/container/internal/ctest"
	"github.com/go-reclaim/reclaim/container/offheapmap"
	"github.com/go-reclaim/reclaim/epoch"
	"github.com/go-reclaim/reclaim/offheap"
	"github.com/go-reclaim/reclaim/stress"
)

// kv is the map under the guard that the stress test opens for an
// operation.
type kv struct {
	m *offheapmap.Map[int, int]
	g *epoch.Guard
}

func (e kv) Get(k int) (int, bool) {
	v, ok := e.m.Load(e.g, k)
	if !ok {
		return 0, false
	}
	return *v, true
}

func (e kv) Put(k, v int) bool {
	replaced, err := e.m.Store(e.g, k, v)
	if err != nil {
		panic(err)
	}
	return replaced
}

func (e kv) Delete(k int) bool { return e.m.Delete(e.g, k) }

// TestStress runs package stress on the map, on the classic and the robust
// collector (ctest.Stress): MapMix's histories checked by porcupine,
// stalled guards, abandoned goroutines, and the collector's counts after
// Close (each replaced or deleted entry, each retired table and each entry
// that Close freed, retired and reclaimed exactly once). The entry slab is
// checked (offheap.WithChecks): a reclaimed entry is poisoned, so a reader
// that a bug let see one returns a value no Store wrote and the history
// check fails. On 16 keys the table stays at 8 buckets and churn rehashes
// it in place; on 512 keys it grows from 8 buckets while readers run.
func TestStress(t *testing.T) {
	for _, keys := range []int{16, 512} {
		t.Run(map[int]string{16: "churn", 512: "growth"}[keys], func(t *testing.T) {
			var current *offheapmap.Map[int, int]
			ctest.Stress(t, ctest.StressCase[kv]{
				Model:       stress.MapModel(),
				HistorySize: 1500,
				EpochOnly:   true,
				Open: func(s ctest.Scheme) func(ctest.Env) kv {
					m, err := offheapmap.New[int, int](s.C, 1<<16, offheap.WithChecks()) // room for the entries stalled guards hold back
					require.NoError(t, err)
					current = m
					return func(e ctest.Env) kv { return kv{m, e.G} }
				},
				// Close frees the live entries and retires the table; a
				// grow retired one table each; the entry slab's Close
				// defers one function (its grace period's marker).
				Close: func(ctest.Scheme) uint64 {
					live := uint64(current.Len())
					require.NoError(t, current.Close())
					return live + current.Stats().Grows + 1 + 1
				},
				Mix: func(r *ctest.Round[kv], hist *stress.History) stress.Mix {
					return ctest.MapMix(r, hist, keys, kv.Get, kv.Put, kv.Delete)
				},
			})
		})
	}
}
