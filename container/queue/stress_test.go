package queue_test

import (
	"runtime"
	"testing"

	"github.com/go-reclaim/reclaim/container/internal/ctest"
	"github.com/go-reclaim/reclaim/container/queue"
	"github.com/go-reclaim/reclaim/epoch"
	"github.com/go-reclaim/reclaim/hazard"
	"github.com/go-reclaim/reclaim/stress"
)

// guardedQueue runs under a guard that the stress test opens.
type guardedQueue struct {
	q *queue.Epoch[int]
	g *epoch.Guard
}

func (e guardedQueue) Enqueue(v int)        { e.q.Enqueue(e.g, v) }
func (e guardedQueue) Dequeue() (int, bool) { return e.q.Dequeue(e.g) }

// TestStress runs package stress on every variant (see ctest.Stress): its
// QueueMix, with histories checked by porcupine and every value enqueued
// dequeued exactly once, stalled guards and protections, abandoned
// goroutines, and the scheme's counts after Close. For a soak, multiply
// its length: STRESS_SCALE=50 go test -race -run TestStress.
func TestStress(t *testing.T) {
	ctest.Stress(t, ctest.StressCase[fifo]{
		Model:          stress.QueueModel(),
		HazardPointers: queue.HazardPointers,
		HistorySize:    300,
		Goroutines:     2 * runtime.GOMAXPROCS(0), // with HistorySize, keeps checks fast

		Open: func(s ctest.Scheme) func(ctest.Env) fifo {
			return ctest.Open(s,
				func() fifo { return new(queue.GC[int]) },
				func(c *epoch.Collector) func(*epoch.Guard) fifo {
					q := queue.NewEpoch[int](c)
					return func(g *epoch.Guard) fifo { return guardedQueue{q, g} }
				},
				func(d *hazard.Domain) func(*hazard.Array) fifo {
					q := queue.NewHazard[int](d)
					return func(hp *hazard.Array) fifo { return hazardQueue{q, hp} }
				})
		},
		Mix: func(r *ctest.Round[fifo], hist *stress.History) stress.Mix {
			return stress.QueueMix(hist,
				func(w *stress.Worker, v int) { r.Do(w, func(q fifo) { q.Enqueue(v) }) },
				func(w *stress.Worker) (v int, ok bool) {
					r.Do(w, func(q fifo) { v, ok = q.Dequeue() })
					r.Unlinked(w, ok) // the old dummy
					return v, ok
				})
		},
	})
}
