package workload

import "time"

// Structure is a kind of data structure the suite measures.
type Structure struct {
	Name string
	Doc  string
	// Paired structures (stack, queue) have no read: each goroutine
	// alternates Insert and Delete (push and pop), so their only mix is
	// 0/100 and their size stays at the prefill.
	Paired bool
	// KeyRanges are the sizes measured, smallest first. Keys are drawn
	// uniformly from [0, N); a set or map is prefilled with about half of
	// them, a stack or queue with N/2 elements.
	KeyRanges []KeyRange
	// OptIn structures are measured only when asked for by name: their
	// runs are long (bigmap prefills ten million entries).
	OptIn bool
	// CollectEvery, if positive, starts a garbage collection at this
	// interval during a run, on a goroutine of its own.
	CollectEvery time.Duration

	variants map[Scheme]func(Options) *Instance
}

// KeyRange is a named key range.
type KeyRange struct {
	Name string // "small" or "large"
	N    uint64
}

// Structures lists the structures in report order.
func Structures() []*Structure {
	return []*Structure{stackStructure, queueStructure, setStructure, mapStructure, bigmapStructure}
}

// Mixes returns the read/update mixes that apply to s.
func (s *Structure) Mixes() []Mix {
	if s.Paired {
		return []Mix{{Read: 0}}
	}
	return Mixes()
}

// Has reports whether s has a variant under scheme.
func (s *Structure) Has(scheme Scheme) bool {
	_, ok := s.variants[scheme]
	return ok
}

// Variant returns s under scheme, if s has one.
func (s *Structure) Variant(scheme Scheme) (Variant, bool) {
	mk, ok := s.variants[scheme]
	return Variant{Structure: s, Scheme: scheme, New: mk}, ok
}

// Capacity is the most elements a structure of key range n holds at once
// with g goroutines: the prefill plus one per goroutine for a paired
// structure (a push is followed by a pop), every key for a set or map.
func (s *Structure) Capacity(n uint64, g int) int {
	if s.Paired {
		return int(n/2) + g
	}
	return int(n)
}
