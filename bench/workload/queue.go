package workload

import (
	"github.com/go-reclaim/reclaim/container/queue"
	"github.com/go-reclaim/reclaim/epoch"
	"github.com/go-reclaim/reclaim/hazard"
)

var queueStructure = &Structure{
	Name:      "queue",
	Doc:       "Michael-Scott queue (container/queue): one enqueue then one dequeue per goroutine, alternating",
	Paired:    true,
	KeyRanges: []KeyRange{{"small", 1024}},
	variants: map[Scheme]func(Options) *Instance{
		GC:          newQueueGC,
		EpochPool:   newQueueEpoch,
		EpochRobust: robustly(newQueueEpoch),
		Hazard:      newQueueHazard,
		Chan:        newChan,
		Mutex:       newMutexQueue,
		XSync:       newXSyncQueue,
	},
}

func newQueueGC(Options) *Instance {
	q := new(queue.GC[uint64])
	return shared(Worker{
		Insert: func(k uint64) bool { q.Enqueue(k); return true },
		Delete: func(uint64) bool { _, ok := q.Dequeue(); return ok },
	})
}

func newQueueEpoch(o Options) *Instance {
	c := newCollector(o)
	q := queue.NewEpoch[uint64](c)
	return epochInstance(c, func(h *epoch.Handle) Worker {
		return Worker{
			Insert: func(k uint64) bool { g := h.Enter(); q.Enqueue(g, k); g.Exit(); return true },
			Delete: func(uint64) bool { g := h.Enter(); _, ok := q.Dequeue(g); g.Exit(); return ok },
		}
	})
}

func newQueueHazard(Options) *Instance {
	d := hazard.New()
	q := queue.NewHazard[uint64](d)
	return hazardInstance(d, queue.HazardPointers, func(a *hazard.Array) Worker {
		return Worker{
			Insert: func(k uint64) bool { q.Enqueue(a, k); return true },
			Delete: func(uint64) bool { _, ok := q.Dequeue(a); return ok },
		}
	})
}
