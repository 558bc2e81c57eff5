package list

import (
	"cmp"

	"github.com/go-reclaim/reclaim/container/internal/check"
	"github.com/go-reclaim/reclaim/container/internal/hmlist"
	"github.com/go-reclaim/reclaim/hazard"
)

// HazardPointers is how many hazard pointers the operations of Hazard
// need: the node being entered and its predecessor. Michael's algorithm
// keeps a third; this one validates each node through its predecessor's
// unmarked link instead, which makes it unnecessary.
const HazardPointers = 2 // as the shared list, internal/hmlist, needs

// Hazard is a Harris-Michael set whose deleted nodes are retired to a
// hazard.Pool of the set's domain and recycled once no hazard pointer
// protects them. It is safe for concurrent use; create it with NewHazard.
//
// Every operation takes hp, an Array of at least HazardPointers hazard
// pointers of the set's domain, held by the calling goroutine (from
// d.AcquireArray(list.HazardPointers); it panics on any other, and on a
// zero Hazard, before changing anything), and leaves them reset. Passing them
// in lets a goroutine acquire them once for many operations: acquiring per
// operation would cost a slot acquisition and release per pointer.
type Hazard[K cmp.Ordered] struct {
	l  hmlist.List[K, none]
	ns *hmlist.Nodes[K, none]
}

// NewHazard returns an empty set whose nodes are reclaimed through d.
func NewHazard[K cmp.Ordered](d *hazard.Domain) *Hazard[K] {
	return &Hazard[K]{ns: hmlist.NewHazardNodes[K, none](d)}
}

// Insert adds key and reports whether it was absent, protecting with hp.
func (s *Hazard[K]) Insert(hp *hazard.Array, key K) bool {
	check.Array[K]("list: Hazard.Insert", hp, s.ns.Domain(), HazardPointers)
	return s.l.Insert(s.ns.Hazard(hp), key, none{})
}

// Delete removes key and reports whether it was present, protecting with
// hp. The deleted node is retired to the domain.
func (s *Hazard[K]) Delete(hp *hazard.Array, key K) bool {
	check.Array[K]("list: Hazard.Delete", hp, s.ns.Domain(), HazardPointers)
	return found(s.l.Delete(s.ns.Hazard(hp), key))
}

// Contains reports whether key is present, protecting with hp.
func (s *Hazard[K]) Contains(hp *hazard.Array, key K) bool {
	check.Array[K]("list: Hazard.Contains", hp, s.ns.Domain(), HazardPointers)
	return found(s.l.Get(s.ns.Hazard(hp), key))
}
