package hashmap_test

import (
	"testing"

	"github.com/go-reclaim/reclaim/container/hashmap"
	"github.com/go-reclaim/reclaim/container/internal/ctest"
	"github.com/go-reclaim/reclaim/epoch"
	"github.com/go-reclaim/reclaim/hazard"
	"github.com/go-reclaim/reclaim/stress"
)

// guardedMap runs under a guard that the stress test opens.
type guardedMap struct {
	m *hashmap.Epoch[int, int]
	g *epoch.Guard
}

func (e guardedMap) Get(k int) (int, bool)    { return e.m.Get(e.g, k) }
func (e guardedMap) Put(k, v int) (int, bool) { return e.m.Put(e.g, k, v) }
func (e guardedMap) Delete(k int) (int, bool) { return e.m.Delete(e.g, k) }

// TestStress runs package stress on every variant (see ctest.Stress): its
// MapMix on 16 keys in 4 buckets, so that keys share lists, with histories
// checked by porcupine, stalled guards and protections, abandoned
// goroutines, and the scheme's counts after Close (a Put that replaced a
// value and a Delete that found one each unlinked a node). For a soak,
// multiply its length: STRESS_SCALE=50 go test -race -run TestStress.
func TestStress(t *testing.T) {
	const keys, buckets = 16, 4
	ctest.Stress(t, ctest.StressCase[kv]{
		Model:          stress.MapModel(),
		HazardPointers: hashmap.HazardPointers,
		HistorySize:    1500, // partitioned by key: checks quickly
		Open: func(s ctest.Scheme) func(ctest.Env) kv {
			return ctest.Open(s,
				func() kv { return hashmap.NewGC[int, int](buckets) },
				func(c *epoch.Collector) func(*epoch.Guard) kv {
					m := hashmap.NewEpoch[int, int](c, buckets)
					return func(g *epoch.Guard) kv { return guardedMap{m, g} }
				},
				func(d *hazard.Domain) func(*hazard.Array) kv {
					m := hashmap.NewHazard[int, int](d, buckets)
					return func(hp *hazard.Array) kv { return hazardMap{m, hp} }
				})
		},
		Mix: func(r *ctest.Round[kv], hist *stress.History) stress.Mix {
			return ctest.MapMix(r, hist, keys, kv.Get,
				func(m kv, k, v int) bool { _, replaced := m.Put(k, v); return replaced },
				func(m kv, k int) bool { _, ok := m.Delete(k); return ok })
		},
	})
}
