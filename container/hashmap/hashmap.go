package hashmap

import (
	"cmp"

	"github.com/go-reclaim/reclaim/container/internal/check"
	"github.com/go-reclaim/reclaim/container/internal/hmlist"
	"github.com/go-reclaim/reclaim/epoch"
)

// GC is a lock-free hash map whose unlinked nodes are left to the garbage
// collector. It is safe for concurrent use; create it with NewGC.
type GC[K cmp.Ordered, V any] struct {
	table[K, V]
}

// NewGC returns an empty map with buckets buckets, rounded up to a power of
// two. It panics if buckets < 1.
func NewGC[K cmp.Ordered, V any](buckets int) *GC[K, V] {
	return &GC[K, V]{newTable[K, V](buckets)}
}

// Get returns the value of key and whether it is present.
func (m *GC[K, V]) Get(key K) (V, bool) {
	check.Made[K]("hashmap: GC.Get", m.buckets != nil)
	return m.bucket(key).Get(hmlist.Op[K, V]{}, key)
}

// Put sets key to val and returns the value it replaced, if any.
func (m *GC[K, V]) Put(key K, val V) (old V, replaced bool) {
	check.Made[K]("hashmap: GC.Put", m.buckets != nil)
	return m.bucket(key).Put(hmlist.Op[K, V]{}, key, val)
}

// Delete removes key and returns its value, if it was present.
func (m *GC[K, V]) Delete(key K) (old V, deleted bool) {
	check.Made[K]("hashmap: GC.Delete", m.buckets != nil)
	return m.bucket(key).Delete(hmlist.Op[K, V]{}, key)
}

// Epoch is a lock-free hash map whose nodes are recycled through an
// epoch.Pool. Every operation takes the guard of the calling goroutine,
// which must be open and belong to the map's collector: an operation panics
// otherwise (an exited guard as far as epoch.Guard can tell: see there), and
// on a zero Epoch, before it changes anything. It is safe for concurrent
// use; create it with NewEpoch.
//
// It works on a classic Collector and on a robust one (epoch.WithRobust):
// on a robust one the buckets reserve and validate every node they enter,
// as package list's Epoch does. The mode is read once, at NewEpoch.
type Epoch[K cmp.Ordered, V any] struct {
	table[K, V]
	ns *hmlist.Nodes[K, V]
}

// NewEpoch returns an empty map with buckets buckets, rounded up to a power
// of two, whose nodes are reclaimed through c. It panics if buckets < 1.
func NewEpoch[K cmp.Ordered, V any](c *epoch.Collector, buckets int) *Epoch[K, V] {
	return &Epoch[K, V]{newTable[K, V](buckets), hmlist.NewEpochNodes[K, V](c)}
}

// Get returns the value of key and whether it is present, reading under g.
func (m *Epoch[K, V]) Get(g *epoch.Guard, key K) (V, bool) {
	m.ns.CheckGuard("hashmap: Epoch.Get", g) // first: a zero map has no buckets
	return m.bucket(key).Get(m.ns.Epoch(g), key)
}

// Put sets key to val under g and returns the value it replaced, if any.
// The replaced node goes back to the pool after a grace period.
func (m *Epoch[K, V]) Put(g *epoch.Guard, key K, val V) (old V, replaced bool) {
	m.ns.CheckGuard("hashmap: Epoch.Put", g)
	return m.bucket(key).Put(m.ns.Epoch(g), key, val)
}

// Delete removes key under g and returns its value, if it was present.
func (m *Epoch[K, V]) Delete(g *epoch.Guard, key K) (old V, deleted bool) {
	m.ns.CheckGuard("hashmap: Epoch.Delete", g)
	return m.bucket(key).Delete(m.ns.Epoch(g), key)
}
