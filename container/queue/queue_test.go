package queue_test

import (
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/go-reclaim/reclaim/container/internal/ctest"
	"github.com/go-reclaim/reclaim/container/queue"
	"github.com/go-reclaim/reclaim/epoch"
	"github.com/go-reclaim/reclaim/hazard"
)

// fifo is the interface every variant is adapted to; a worker's fifo
// belongs to one goroutine.
type fifo interface {
	Enqueue(v int)
	Dequeue() (int, bool)
}

type epochQueue struct {
	q *queue.Epoch[int]
	c *epoch.Collector
}

func (e epochQueue) Enqueue(v int)        { g := e.c.Enter(); defer g.Exit(); e.q.Enqueue(g, v) }
func (e epochQueue) Dequeue() (int, bool) { g := e.c.Enter(); defer g.Exit(); return e.q.Dequeue(g) }

type hazardQueue struct {
	q  *queue.Hazard[int]
	hp *hazard.Array
}

func (h hazardQueue) Enqueue(v int)        { h.q.Enqueue(h.hp, v) }
func (h hazardQueue) Dequeue() (int, bool) { return h.q.Dequeue(h.hp) }

// open makes a queue on scheme s; see ctest.Build.
func open(s ctest.Scheme) func() (fifo, func()) {
	return ctest.Build(s, queue.HazardPointers,
		func() fifo { return new(queue.GC[int]) },
		func(c *epoch.Collector) fifo { return epochQueue{queue.NewEpoch[int](c), c} },
		func(d *hazard.Domain) func(*hazard.Array) fifo {
			q := queue.NewHazard[int](d)
			return func(hp *hazard.Array) fifo { return hazardQueue{q, hp} }
		})
}

// TestModel runs random operations from one goroutine and compares every
// result with a slice.
func TestModel(t *testing.T) {
	ctest.Model(t, open, func(rt *rapid.T, q fifo) (dequeues int) {
		var model []int
		rt.Repeat(map[string]func(*rapid.T){
			"enqueue": func(rt *rapid.T) {
				x := rapid.Int().Draw(rt, "v")
				q.Enqueue(x)
				model = append(model, x)
			},
			"dequeue": func(rt *rapid.T) {
				x, ok := q.Dequeue()
				require.Equal(rt, len(model) > 0, ok, "Dequeue ok")
				if ok {
					require.Equal(rt, model[0], x)
					model = model[1:]
					dequeues++
				}
			},
		})
		for _, want := range model {
			x, ok := q.Dequeue()
			require.True(rt, ok)
			require.Equal(rt, want, x)
			dequeues++
		}
		_, ok := q.Dequeue()
		require.False(rt, ok, "drained")
		return dequeues // each retires the old dummy once
	})
}

// TestConcurrentLedger has every goroutine enqueue its own increasing
// sequence and dequeue whatever comes. Every value must come out exactly
// once, and each dequeuer must see each producer's values in order.
func TestConcurrentLedger(t *testing.T) {
	const workers, per = 4, 20000
	ctest.Each(t, open, func(t *testing.T, view func() (fifo, func())) int {
		seen := make([]int32, workers*per)
		var mu sync.Mutex
		record := func(got []int) {
			mu.Lock()
			defer mu.Unlock()
			for _, x := range got {
				seen[x]++
			}
		}
		ctest.Run(workers, 1, func(w int, r *rand.Rand) {
			q, done := view()
			defer done()
			last := make([]int, workers) // per producer: last sequence number seen
			for i := range last {
				last[i] = -1
			}
			var got []int
			for i := 0; i < per; {
				if r.IntN(2) == 0 {
					q.Enqueue(w*per + i)
					i++
					continue
				}
				if x, ok := q.Dequeue(); ok {
					p, seq := x/per, x%per
					if seq <= last[p] {
						t.Errorf("worker %d: producer %d's value %d after %d", w, p, seq, last[p])
						return
					}
					last[p] = seq
					got = append(got, x)
				}
			}
			record(got)
		})
		q, done := view()
		var rest []int
		for x, ok := q.Dequeue(); ok; x, ok = q.Dequeue() {
			rest = append(rest, x)
		}
		record(rest)
		done()
		for x, n := range seen {
			require.Equalf(t, int32(1), n, "value %d dequeued %d times", x, n)
		}
		return workers * per // each dequeue retires the old dummy once
	})
}

// Enqueuers that find the queue unstarted race to install the first dummy.
func TestConcurrentStart(t *testing.T) {
	for range 200 {
		var q queue.GC[int]
		ctest.Run(2, 3, func(w int, _ *rand.Rand) { q.Enqueue(w) })
		a, _ := q.Dequeue()
		b, _ := q.Dequeue()
		require.ElementsMatch(t, []int{0, 1}, []int{a, b})
		_, ok := q.Dequeue()
		require.False(t, ok)
	}
}

func TestHazardArrayTooShort(t *testing.T) {
	d := hazard.New()
	q := queue.NewHazard[int](d)
	hp := d.AcquireArray(1)
	// Every operation takes HazardPointers, as documented (Enqueue, which
	// uses only the first, took one alone before), and refuses fewer
	// before it changes anything.
	require.Panics(t, func() { q.Enqueue(hp, 1) })
	require.Panics(t, func() { q.Dequeue(hp) })
	hp.Release()
	full := d.AcquireArray(queue.HazardPointers)
	_, ok := q.Dequeue(full)
	require.False(t, ok, "a refused Enqueue enqueued")
	full.Release()
	require.NoError(t, d.Close())
}
