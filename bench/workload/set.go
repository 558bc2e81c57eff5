package workload

import (
	"github.com/go-reclaim/reclaim/container/list"
	"github.com/go-reclaim/reclaim/epoch"
	"github.com/go-reclaim/reclaim/hazard"
)

// The list's large range is small next to the map's: every operation walks
// half the list on average.
var setStructure = &Structure{
	Name:      "set",
	Doc:       "Harris-Michael sorted list set (container/list)",
	KeyRanges: []KeyRange{{"small", 256}, {"large", 4096}},
	variants: map[Scheme]func(Options) *Instance{
		GC:          newSetGC,
		EpochPool:   newSetEpoch,
		EpochRobust: robustly(newSetEpoch),
		Hazard:      newSetHazard,
	},
}

func newSetGC(Options) *Instance {
	s := new(list.GC[uint64])
	return shared(Worker{Read: s.Contains, Insert: s.Insert, Delete: s.Delete})
}

func newSetEpoch(o Options) *Instance {
	c := newCollector(o)
	s := list.NewEpoch[uint64](c)
	return epochInstance(c, func(h *epoch.Handle) Worker {
		return Worker{
			Read:   func(k uint64) bool { g := h.Enter(); ok := s.Contains(g, k); g.Exit(); return ok },
			Insert: func(k uint64) bool { g := h.Enter(); ok := s.Insert(g, k); g.Exit(); return ok },
			Delete: func(k uint64) bool { g := h.Enter(); ok := s.Delete(g, k); g.Exit(); return ok },
		}
	})
}

func newSetHazard(Options) *Instance {
	d := hazard.New()
	s := list.NewHazard[uint64](d)
	return hazardInstance(d, list.HazardPointers, func(a *hazard.Array) Worker {
		return Worker{
			Read:   func(k uint64) bool { return s.Contains(a, k) },
			Insert: func(k uint64) bool { return s.Insert(a, k) },
			Delete: func(k uint64) bool { return s.Delete(a, k) },
		}
	})
}
