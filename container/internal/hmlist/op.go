package hmlist

import (
	"cmp"

	"github.com/go-reclaim/reclaim/container/internal/check"
	"github.com/go-reclaim/reclaim/container/internal/yield"
	"github.com/go-reclaim/reclaim/container/marked"
	"github.com/go-reclaim/reclaim/epoch"
	"github.com/go-reclaim/reclaim/hazard"
	"github.com/go-reclaim/reclaim/internal/spin"
)

// HazardPointers is the number of hazard pointers an operation holds (see
// the package documentation for why two are enough).
const HazardPointers = 2

// Nodes is where a list's new nodes come from and its unlinked ones go: an
// epoch.Pool or a hazard.Pool. Lists that leave nodes to the garbage
// collector need none.
type Nodes[K cmp.Ordered, V any] struct {
	epoch  *epoch.Pool[Node[K, V]]
	hazard *hazard.Pool[Node[K, V]]
	c      *epoch.Collector // epoch's, checked against every guard
	d      *hazard.Domain   // hazard's, checked against every Array
	robust bool             // epoch's collector is robust: guards must reserve (see find)
}

// NewEpochNodes recycles nodes through an epoch.Pool of c, classic or
// robust.
func NewEpochNodes[K cmp.Ordered, V any](c *epoch.Collector) *Nodes[K, V] {
	return &Nodes[K, V]{epoch: epoch.NewPool[Node[K, V]](c), c: c, robust: c.Robust()}
}

// NewHazardNodes recycles nodes through a hazard.Pool of d.
func NewHazardNodes[K cmp.Ordered, V any](d *hazard.Domain) *Nodes[K, V] {
	return &Nodes[K, V]{hazard: hazard.NewPool[Node[K, V]](d), d: d}
}

// Op is the protection one operation runs under. The zero value is the
// garbage collector's: no protection, nodes allocated and dropped.
type Op[K cmp.Ordered, V any] struct {
	ns *Nodes[K, V]
	g  *epoch.Guard
	hp [HazardPointers]*hazard.Pointer // a find's cur and prev's node (see findProtected)
	// validates is set for hazard pointers and for a robust guard (robust),
	// which protect only what they validate: find walks differently for each.
	validates, robust bool
	backoff           spin.Backoff
}

// Epoch returns an Op under g, an open guard of the pool's collector, which
// the caller has checked (CheckGuard).
func (ns *Nodes[K, V]) Epoch(g *epoch.Guard) Op[K, V] {
	return Op[K, V]{ns: ns, g: g, validates: ns.robust, robust: ns.robust}
}

// Hazard returns an Op that protects with the first HazardPointers pointers
// of a, which the caller has checked (check.Array against Domain).
func (ns *Nodes[K, V]) Hazard(a *hazard.Array) Op[K, V] {
	return Op[K, V]{ns: ns, hp: [HazardPointers]*hazard.Pointer{a.At(0), a.At(1)}, validates: true}
}

// CheckGuard panics, naming op (see package check), unless g is an open
// guard of the pool's collector, and if ns is nil (a zero structure's).
// It is apart from Epoch so that both inline into the operations: an Op
// returned by a call was copied, and a list's Contains took 14% longer.
func (ns *Nodes[K, V]) CheckGuard(op string, g *epoch.Guard) {
	var c *epoch.Collector
	if ns != nil {
		c = ns.c
	}
	check.Guard[K](op, g, c)
}

// Domain is the pool's domain: nil for a zero structure's (nil) Nodes
// and for a Nodes of epoch guards. The Hazard operations check their
// hazard.Array against it with check.Array, called directly so that it
// inlines (with this lookup in a method of its own, it did not).
func (ns *Nodes[K, V]) Domain() *hazard.Domain {
	if ns == nil {
		return nil
	}
	return ns.d
}

// revalidate makes p, just read from src as (p, false), safe to
// dereference under a robust guard whose Reserve has just extended its
// reservation, after p was read, and reports false if it cannot (src
// changed or was marked). p is protected only if src still holds (p,
// false) when read again after the extension, by a read that no further
// extension outran: this is marked.Pointer.TryReserve past its first
// Reserve (calling TryReserve here would be wrong, since its Reserve would
// now report the reservation current and skip the check). find writes out
// the tests in front of it (see there).
func (o *Op[K, V]) revalidate(src *marked.Pointer[Node[K, V]], p *Node[K, V]) bool {
	if yield.Enabled {
		yield.Point() // p, reclaimed before the reservation moved, may be reused and linked at src again, born after it
	}
	for {
		if q, deleted := src.Load(); q != p || deleted {
			return false
		}
		if yield.Enabled {
			yield.Point() // p may be deleted and reclaimed again before the reservation covers it
		}
		if o.g.Reserve() {
			return true
		}
	}
}

// unlink unlinks cur, a marked node that a find passed, from prev, and
// reports false, after a backoff, if prev no longer held it (the find then
// restarts). next, cur's frozen successor, needs no protection for the
// compare-and-swap: while cur is linked its frozen link keeps next linked.
func (o *Op[K, V]) unlink(prev *marked.Pointer[Node[K, V]], cur, next *Node[K, V]) bool {
	if prev.CompareAndSwap(cur, false, next, false) {
		return true
	}
	o.backoff.Pause()
	return false
}

// done ends the operation: hazard pointers are left reset.
func (o *Op[K, V]) done() {
	if o.hp[0] != nil {
		o.hp[0].Reset()
		o.hp[1].Reset()
	}
}

// alloc returns an unpublished node holding key and val. If the operation
// ends up not publishing it (an insert that lost the race for its key), it
// is left to the garbage collector: the pools take back only retired nodes,
// and this is rare.
func (o *Op[K, V]) alloc(key K, val V) *Node[K, V] {
	var n *Node[K, V]
	switch {
	case o.g != nil:
		n = o.ns.epoch.Get(o.g)
	case o.ns != nil:
		n = o.ns.hazard.Get()
	default:
		n = new(Node[K, V])
	}
	n.Key, n.Val = key, val
	return n
}

// retire hands over n, which the caller has just unlinked.
func (o *Op[K, V]) retire(n *Node[K, V]) {
	switch {
	case o.g != nil:
		o.ns.epoch.Retire(o.g, n)
	case o.ns != nil:
		o.ns.hazard.Retire(n)
	}
}
