package workload

import (
	"github.com/go-reclaim/reclaim/container/hashmap"
	"github.com/go-reclaim/reclaim/epoch"
	"github.com/go-reclaim/reclaim/hazard"
)

// Every map variant's Insert is a put: it stores the key (as its own
// value) whether or not the key is present and reports whether it was
// absent. The container's Put replaces a present key's node, so half of a
// mix's inserts allocate and retire a node even at steady state.
var mapStructure = &Structure{
	Name:      "map",
	Doc:       "Michael's lock-free hash map (container/hashmap), one bucket per two keys of the range (load factor 1 at steady state)",
	KeyRanges: []KeyRange{{"small", 1024}, {"large", 1 << 20}},
	variants: map[Scheme]func(Options) *Instance{
		GC:          newMapGC,
		EpochPool:   newMapEpoch,
		EpochRobust: robustly(newMapEpoch),
		Hazard:      newMapHazard,
		Mutex:       newMutexMap,
		SyncMap:     newSyncMap,
		XSync:       newXSyncMap,
	},
}

// buckets is the bucket count for a map of o.Capacity keys, half of which
// are present at steady state.
func buckets(o Options) int { return max(o.Capacity/2, 1) }

func newMapGC(o Options) *Instance {
	m := hashmap.NewGC[uint64, uint64](buckets(o))
	return shared(Worker{
		Read:   func(k uint64) bool { _, ok := m.Get(k); return ok },
		Insert: func(k uint64) bool { _, replaced := m.Put(k, k); return !replaced },
		Delete: func(k uint64) bool { _, ok := m.Delete(k); return ok },
	})
}

func newMapEpoch(o Options) *Instance {
	c := newCollector(o)
	m := hashmap.NewEpoch[uint64, uint64](c, buckets(o))
	return epochInstance(c, func(h *epoch.Handle) Worker {
		return Worker{
			Read:   func(k uint64) bool { g := h.Enter(); _, ok := m.Get(g, k); g.Exit(); return ok },
			Insert: func(k uint64) bool { g := h.Enter(); _, replaced := m.Put(g, k, k); g.Exit(); return !replaced },
			Delete: func(k uint64) bool { g := h.Enter(); _, ok := m.Delete(g, k); g.Exit(); return ok },
		}
	})
}

func newMapHazard(o Options) *Instance {
	d := hazard.New()
	m := hashmap.NewHazard[uint64, uint64](d, buckets(o))
	return hazardInstance(d, hashmap.HazardPointers, func(a *hazard.Array) Worker {
		return Worker{
			Read:   func(k uint64) bool { _, ok := m.Get(a, k); return ok },
			Insert: func(k uint64) bool { _, replaced := m.Put(a, k, k); return !replaced },
			Delete: func(k uint64) bool { _, ok := m.Delete(a, k); return ok },
		}
	})
}
