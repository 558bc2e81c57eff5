package list_test

import (
	"testing"

	"github.com/go-reclaim/reclaim/container/internal/ctest"
	"github.com/go-reclaim/reclaim/container/list"
	"github.com/go-reclaim/reclaim/epoch"
	"github.com/go-reclaim/reclaim/hazard"
	"github.com/go-reclaim/reclaim/stress"
)

// guardedSet runs under a guard that the stress test opens.
type guardedSet struct {
	s *list.Epoch[int]
	g *epoch.Guard
}

func (e guardedSet) Insert(k int) bool   { return e.s.Insert(e.g, k) }
func (e guardedSet) Delete(k int) bool   { return e.s.Delete(e.g, k) }
func (e guardedSet) Contains(k int) bool { return e.s.Contains(e.g, k) }

// TestStress runs package stress on every variant (see ctest.Stress): its
// SetMix on 16 keys, with histories checked by porcupine, stalled guards
// and protections, abandoned goroutines, and the scheme's counts after
// Close (the final scan unlinks every deleted node, so each successful
// Delete must have retired one). For a soak, multiply its length:
// STRESS_SCALE=50 go test -race -run TestStress.
func TestStress(t *testing.T) {
	const keys = 16
	ctest.Stress(t, ctest.StressCase[set]{
		Model:          stress.SetModel(),
		HazardPointers: list.HazardPointers,
		HistorySize:    1500, // partitioned by key: checks quickly
		Open: func(s ctest.Scheme) func(ctest.Env) set {
			return ctest.Open(s,
				func() set { return new(list.GC[int]) },
				func(c *epoch.Collector) func(*epoch.Guard) set {
					l := list.NewEpoch[int](c)
					return func(g *epoch.Guard) set { return guardedSet{l, g} }
				},
				func(d *hazard.Domain) func(*hazard.Array) set {
					l := list.NewHazard[int](d)
					return func(hp *hazard.Array) set { return hazardSet{l, hp} }
				})
		},
		Mix: func(r *ctest.Round[set], hist *stress.History) stress.Mix {
			do := func(op func(s set, k int) bool) func(*stress.Worker, int) bool {
				return func(w *stress.Worker, k int) (ok bool) {
					r.Do(w, func(s set) { ok = op(s, k) })
					return ok
				}
			}
			remove := func(w *stress.Worker, k int) bool {
				ok := do(set.Delete)(w, k)
				r.Unlinked(w, ok)
				return ok
			}
			return stress.SetMix(hist, keys, do(set.Insert), remove, do(set.Contains))
		},
	})
}
