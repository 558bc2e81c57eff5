package hashmap

import (
	"cmp"

	"github.com/go-reclaim/reclaim/container/internal/check"
	"github.com/go-reclaim/reclaim/container/internal/hmlist"
	"github.com/go-reclaim/reclaim/hazard"
)

// HazardPointers is how many hazard pointers Hazard's operations need (see
// package list).
const HazardPointers = 2 // as the shared list, internal/hmlist, needs

// Hazard is a lock-free hash map whose unlinked nodes are retired to a
// hazard.Pool of the map's domain and recycled once no hazard pointer
// protects them. It is safe for concurrent use; create it with NewHazard.
//
// Operations take hp, an Array of at least HazardPointers hazard pointers
// of the map's domain held by the calling goroutine (they panic on any
// other, and on a zero Hazard, before changing anything), and leave them
// reset: a goroutine acquires them once for many operations.
type Hazard[K cmp.Ordered, V any] struct {
	table[K, V]
	ns *hmlist.Nodes[K, V]
}

// NewHazard returns an empty map with buckets buckets, rounded up to a
// power of two, whose nodes are reclaimed through d. It panics if buckets <
// 1.
func NewHazard[K cmp.Ordered, V any](d *hazard.Domain, buckets int) *Hazard[K, V] {
	return &Hazard[K, V]{newTable[K, V](buckets), hmlist.NewHazardNodes[K, V](d)}
}

// Get returns the value of key and whether it is present, protecting with
// hp.
func (m *Hazard[K, V]) Get(hp *hazard.Array, key K) (V, bool) {
	check.Array[K]("hashmap: Hazard.Get", hp, m.ns.Domain(), HazardPointers) // first: a zero map has no buckets
	return m.bucket(key).Get(m.ns.Hazard(hp), key)
}

// Put sets key to val and returns the value it replaced, if any, protecting
// with hp. The replaced node is retired to the domain.
func (m *Hazard[K, V]) Put(hp *hazard.Array, key K, val V) (old V, replaced bool) {
	check.Array[K]("hashmap: Hazard.Put", hp, m.ns.Domain(), HazardPointers)
	return m.bucket(key).Put(m.ns.Hazard(hp), key, val)
}

// Delete removes key and returns its value, if it was present, protecting
// with hp.
func (m *Hazard[K, V]) Delete(hp *hazard.Array, key K) (old V, deleted bool) {
	check.Array[K]("hashmap: Hazard.Delete", hp, m.ns.Domain(), HazardPointers)
	return m.bucket(key).Delete(m.ns.Hazard(hp), key)
}
