package list

import (
	"cmp"

	"github.com/go-reclaim/reclaim/container/internal/hmlist"
	"github.com/go-reclaim/reclaim/epoch"
)

type none = struct{}

// GC is a Harris-Michael set whose deleted nodes are left to the garbage
// collector. The zero value is an empty set, safe for concurrent use.
type GC[K cmp.Ordered] struct {
	l hmlist.List[K, none]
}

// Insert adds key and reports whether it was absent.
func (s *GC[K]) Insert(key K) bool { return s.l.Insert(hmlist.Op[K, none]{}, key, none{}) }

// Delete removes key and reports whether it was present.
func (s *GC[K]) Delete(key K) bool { return found(s.l.Delete(hmlist.Op[K, none]{}, key)) }

// Contains reports whether key is present.
func (s *GC[K]) Contains(key K) bool { return found(s.l.Get(hmlist.Op[K, none]{}, key)) }

// found drops the value of a set's Get or Delete.
func found(_ none, ok bool) bool { return ok }

// Epoch is a Harris-Michael set whose nodes are recycled through an
// epoch.Pool. Every operation takes the guard of the calling goroutine,
// which must be open and belong to the set's collector: an operation panics
// otherwise (an exited guard as far as epoch.Guard can tell: see there), and
// on a zero Epoch, before it changes anything. It is safe for concurrent
// use; create it with NewEpoch.
//
// It works on a classic Collector and on a robust one (epoch.WithRobust).
// A classic guard protects every node loaded under it; a robust guard
// protects only what its reservation covers, so on a robust Collector the
// operations reserve each node before entering it and validate it through
// its predecessor's unmarked link (marked.Pointer.TryReserve), hand over
// hand, as Hazard does with hazard pointers. The mode is read once, at
// NewEpoch.
type Epoch[K cmp.Ordered] struct {
	l  hmlist.List[K, none]
	ns *hmlist.Nodes[K, none]
}

// NewEpoch returns an empty set whose nodes are reclaimed through c.
func NewEpoch[K cmp.Ordered](c *epoch.Collector) *Epoch[K] {
	return &Epoch[K]{ns: hmlist.NewEpochNodes[K, none](c)}
}

// Insert adds key under g and reports whether it was absent.
func (s *Epoch[K]) Insert(g *epoch.Guard, key K) bool {
	s.ns.CheckGuard("list: Epoch.Insert", g)
	return s.l.Insert(s.ns.Epoch(g), key, none{})
}

// Delete removes key under g and reports whether it was present; its node
// goes back to the pool after a grace period.
func (s *Epoch[K]) Delete(g *epoch.Guard, key K) bool {
	s.ns.CheckGuard("list: Epoch.Delete", g)
	return found(s.l.Delete(s.ns.Epoch(g), key))
}

// Contains reports whether key is present, reading under g.
func (s *Epoch[K]) Contains(g *epoch.Guard, key K) bool {
	s.ns.CheckGuard("list: Epoch.Contains", g)
	return found(s.l.Get(s.ns.Epoch(g), key))
}
