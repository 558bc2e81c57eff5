package epoch

import (
	"math"
	"unsafe"
)

// bornNode is how a Pool of a robust Collector allocates its nodes: the
// era the node was last handed out by Get sits beside it, where Retire
// finds it, and so does the Pool, so that a node from elsewhere is caught
// instead of being read past its end. v comes first: a *T from Get points
// at the start of its bornNode.
type bornNode[T any] struct {
	v     T
	birth uint64
	pool  *Pool[T]
}

// alloc returns a new zeroed node.
func (p *Pool[T]) alloc() *T {
	if !p.robust {
		return new(T)
	}
	n := &bornNode[T]{birth: p.c.epoch.Load(), pool: p}
	return &n.v
}

// born records that x, a recycled node, is handed out now: a guard that
// loads it after it is published has reserved at least this era.
func (p *Pool[T]) born(x *T) { (*bornNode[T])(unsafe.Pointer(x)).birth = p.c.epoch.Load() }

// noteBirth lowers b's birth era to x's, which is being retired into b.
func (p *Pool[T]) noteBirth(b *nodeBatch[T], x *T) {
	n := (*bornNode[T])(unsafe.Pointer(x))
	if n.pool != p {
		panic("epoch: Pool.Retire of a node that did not come from this Pool's Get (with WithRobust, a Pool keeps each node's birth era beside it)")
	}
	b.birth = min(b.birth, n.birth)
}

// unbornBatch is the birth of an empty batch: no node lowers it yet.
const unbornBatch = math.MaxUint64
