package stress_test

import (
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/go-reclaim/reclaim/container/stack"
	"github.com/go-reclaim/reclaim/epoch"
	"github.com/go-reclaim/reclaim/hazard"
	"github.com/go-reclaim/reclaim/stress"
)

// stackVariant adapts one container/stack variant to StackMix. A fresh
// one is made for every round.
type stackVariant struct {
	name string
	make func() (push func(*stress.Worker, int), pop func(*stress.Worker) (int, bool), faults stress.Mix, close func() error)
}

var stackVariants = []stackVariant{
	{"GC", func() (func(*stress.Worker, int), func(*stress.Worker) (int, bool), stress.Mix, func() error) {
		var s stack.GC[int]
		return func(_ *stress.Worker, v int) { s.Push(v) },
			func(*stress.Worker) (int, bool) { return s.Pop() },
			nil, func() error { return nil }
	}},
	{"Epoch", func() (func(*stress.Worker, int), func(*stress.Worker) (int, bool), stress.Mix, func() error) {
		c := epoch.New(epoch.WithBatchSize(4))
		s := stack.NewEpoch[int](c)
		return func(_ *stress.Worker, v int) { g := c.Enter(); defer g.Exit(); s.Push(g, v) },
			func(*stress.Worker) (int, bool) { g := c.Enter(); defer g.Exit(); return s.Pop(g) },
			stress.Mix{stress.StallGuard(c, time.Millisecond)}, c.Close
	}},
	{"Hazard", func() (func(*stress.Worker, int), func(*stress.Worker) (int, bool), stress.Mix, func() error) {
		d := hazard.New(hazard.WithThreshold(8))
		s := stack.NewHazard[int](d)
		return func(_ *stress.Worker, v int) { s.Push(v) },
			func(*stress.Worker) (int, bool) { hp := d.Acquire(); defer hp.Release(); return s.Pop(hp) },
			nil, d.Close
	}},
}

// TestContainerStack stresses every container/stack variant: a few rounds
// with a checked history each, then a longer round without one.
func TestContainerStack(t *testing.T) {
	for _, v := range stackVariants {
		t.Run(v.name, func(t *testing.T) {
			h := stress.New(t, stress.Ops(500))
			hist := stress.NewHistory(h, stress.StackModel())
			for range 4 {
				push, pop, faults, closeFn := v.make()
				h.Run(append(stress.StackMix(hist, push, pop), faults...))
				stress.Shutdown(h, closeFn)
			}
			long := stress.New(t, stress.Ops(20_000))
			push, pop, faults, closeFn := v.make()
			res := long.Run(append(stress.StackMix(nil, push, pop), faults...))
			stress.Shutdown(long, closeFn)
			require.Equal(t, int64(20_000), res.Ops)
		})
	}
}

// Reference containers behind a mutex, for the workloads whose lock-free
// containers are still being written; bug makes each misbehave.
type mutexQueue struct {
	mu  sync.Mutex
	q   []int
	bug bool // dequeue from the wrong end
}

func (q *mutexQueue) enqueue(_ *stress.Worker, v int) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.q = append(q.q, v)
}

func (q *mutexQueue) dequeue(*stress.Worker) (int, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.q) == 0 {
		return 0, false
	}
	i := 0
	if q.bug {
		i = len(q.q) - 1
	}
	v := q.q[i]
	q.q = append(q.q[:i], q.q[i+1:]...)
	return v, true
}

type mutexMap struct {
	mu  sync.Mutex
	m   map[int]int
	bug bool // delete does not delete when the value is odd
}

func newMutexMap(bug bool) *mutexMap { return &mutexMap{m: map[int]int{}, bug: bug} }

func (m *mutexMap) get(_ *stress.Worker, k int) (int, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	v, ok := m.m[k]
	return v, ok
}

func (m *mutexMap) put(_ *stress.Worker, k, v int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.m[k] = v
}

func (m *mutexMap) insert(_ *stress.Worker, k int) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	_, ok := m.m[k]
	if !ok {
		m.m[k] = 1
	}
	return !ok
}

func (m *mutexMap) remove(_ *stress.Worker, k int) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	v, ok := m.m[k]
	if !m.bug || v%2 == 0 {
		delete(m.m, k)
	}
	return ok
}

func (m *mutexMap) contains(w *stress.Worker, k int) bool {
	_, ok := m.get(w, k)
	return ok
}

// The workloads and models pass correct containers and catch broken ones.
func TestWorkloads(t *testing.T) {
	for _, tc := range []struct {
		name  string
		model func() stress.Model
		mix   func(hist *stress.History, bug bool) stress.Mix
		want  string
	}{
		{"queue", stress.QueueModel, func(hist *stress.History, bug bool) stress.Mix {
			q := &mutexQueue{bug: bug}
			return stress.QueueMix(hist, q.enqueue, q.dequeue)
		}, "not linearizable against the queue model"},
		{"set", stress.SetModel, func(hist *stress.History, bug bool) stress.Mix {
			m := newMutexMap(bug)
			return stress.SetMix(hist, 8, m.insert, m.remove, m.contains)
		}, "not linearizable against the set model"},
		{"map", stress.MapModel, func(hist *stress.History, bug bool) stress.Mix {
			m := newMutexMap(bug)
			return stress.MapMix(hist, 8, m.get, m.put, m.remove)
		}, "not linearizable against the map model"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, bug := range []bool{false, true} {
				got := stress.Capture(t, func(tb testing.TB) {
					h := stress.New(tb, stress.Ops(400))
					hist := stress.NewHistory(h, tc.model())
					for range 3 {
						res := h.Run(tc.mix(hist, bug))
						require.Equal(tb, int64(400), res.Ops)
					}
				})
				require.Equal(t, bug, got.Failed(), "bug=%v: %s", bug, got)
				if bug {
					require.Contains(t, got.Messages()[0], tc.want)
				}
			}
		})
	}
}
