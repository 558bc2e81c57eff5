package stack_test

import (
	"testing"

	"github.com/go-reclaim/reclaim/container/internal/ctest"
	"github.com/go-reclaim/reclaim/container/stack"
	"github.com/go-reclaim/reclaim/epoch"
	"github.com/go-reclaim/reclaim/hazard"
	"github.com/go-reclaim/reclaim/stress"
)

// lifo is the interface the stress test adapts every variant to.
type lifo interface {
	Push(v int)
	Pop() (int, bool)
}

type guardedStack struct {
	s *stack.Epoch[int]
	g *epoch.Guard
}

func (e guardedStack) Push(v int)       { e.s.Push(e.g, v) }
func (e guardedStack) Pop() (int, bool) { return e.s.Pop(e.g) }

type protectedStack struct {
	s  *stack.Hazard[int]
	hp *hazard.Array
}

func (h protectedStack) Push(v int)       { h.s.Push(v) }
func (h protectedStack) Pop() (int, bool) { return h.s.Pop(h.hp.At(0)) }

// TestStress runs package stress on every variant (see ctest.Stress): its
// StackMix, with histories checked by porcupine and every value pushed
// popped exactly once, stalled guards and protections, abandoned
// goroutines, and the scheme's counts after Close. For a soak, multiply
// its length: STRESS_SCALE=50 go test -race -run TestStress.
func TestStress(t *testing.T) {
	ctest.Stress(t, ctest.StressCase[lifo]{
		Model:          stress.StackModel(),
		HazardPointers: 1,
		Open: func(s ctest.Scheme) func(ctest.Env) lifo {
			return ctest.Open(s,
				func() lifo { return new(stack.GC[int]) },
				func(c *epoch.Collector) func(*epoch.Guard) lifo {
					st := stack.NewEpoch[int](c)
					return func(g *epoch.Guard) lifo { return guardedStack{st, g} }
				},
				func(d *hazard.Domain) func(*hazard.Array) lifo {
					st := stack.NewHazard[int](d)
					return func(hp *hazard.Array) lifo { return protectedStack{st, hp} }
				})
		},
		Mix: func(r *ctest.Round[lifo], hist *stress.History) stress.Mix {
			return stress.StackMix(hist,
				func(w *stress.Worker, v int) { r.Do(w, func(s lifo) { s.Push(v) }) },
				func(w *stress.Worker) (v int, ok bool) {
					r.Do(w, func(s lifo) { v, ok = s.Pop() })
					r.Unlinked(w, ok)
					return v, ok
				})
		},
	})
}
