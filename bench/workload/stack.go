package workload

import (
	"github.com/go-reclaim/reclaim/container/stack"
	"github.com/go-reclaim/reclaim/epoch"
	"github.com/go-reclaim/reclaim/hazard"
)

var stackStructure = &Structure{
	Name:      "stack",
	Doc:       "Treiber stack (container/stack): one push then one pop per goroutine, alternating",
	Paired:    true,
	KeyRanges: []KeyRange{{"small", 1024}},
	variants: map[Scheme]func(Options) *Instance{
		GC:          newStackGC,
		EpochPool:   newStackEpoch,
		EpochRobust: robustly(newStackEpoch),
		Hazard:      newStackHazard,
		Chan:        newChan,
		Mutex:       newMutexStack,
	},
}

func newStackGC(Options) *Instance {
	s := new(stack.GC[uint64])
	return shared(Worker{
		Insert: func(k uint64) bool { s.Push(k); return true },
		Delete: func(uint64) bool { _, ok := s.Pop(); return ok },
	})
}

// newStackEpoch enters a guard per operation, the way a user calls a
// lock-free structure from many goroutines.
func newStackEpoch(o Options) *Instance {
	c := newCollector(o)
	s := stack.NewEpoch[uint64](c)
	return epochInstance(c, func(h *epoch.Handle) Worker {
		return Worker{
			Insert: func(k uint64) bool { g := h.Enter(); s.Push(g, k); g.Exit(); return true },
			Delete: func(uint64) bool { g := h.Enter(); _, ok := s.Pop(g); g.Exit(); return ok },
		}
	})
}

// newStackHazard: a push reads no shared node, so only Pop protects.
func newStackHazard(Options) *Instance {
	d := hazard.New()
	s := stack.NewHazard[uint64](d)
	return hazardInstance(d, 1, func(a *hazard.Array) Worker {
		hp := a.At(0)
		return Worker{
			Insert: func(k uint64) bool { s.Push(k); return true },
			Delete: func(uint64) bool { _, ok := s.Pop(hp); return ok },
		}
	})
}
