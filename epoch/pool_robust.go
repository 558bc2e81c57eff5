package epoch

import (
	"math"
	"unsafe"
)

// bornNode is how a Pool of a robust Collector allocates its nodes: the
// era the node was last handed out by Get sits beside it, where Retire
// finds it, and so does the Pool, so that Retire can tell a node from
// another Pool. A node that no Pool allocated (new(T)) is read past its
// end: that is undefined, caught only on a best-effort basis (a panic if
// the memory there does not name this Pool; under -race, checkptr's fatal
// error). v comes first: a *T from Get points at the start of its bornNode.
type bornNode[T any] struct {
	v     T
	birth uint64
	pool  *Pool[T]
}

// unsifted is the reach of a batch that has not been sifted yet, and the
// birth of an empty batch.
const unsifted = math.MaxUint64

func birthOf[T any](x *T) uint64 { return (*bornNode[T])(unsafe.Pointer(x)).birth }

// alloc returns a new zeroed node for g.
func (p *Pool[T]) alloc(g *Guard) *T {
	if !p.robust {
		return new(T)
	}
	n := &bornNode[T]{birth: p.birthFor(g), pool: p}
	return &n.v
}

// born records that x, a recycled node, is handed out to g now.
func (p *Pool[T]) born(x *T, g *Guard) { (*bornNode[T])(unsafe.Pointer(x)).birth = p.birthFor(g) }

// birthFor returns the birth era of a node handed out to g now, after
// raising g's reservation to it: a guard that loads the node after it is
// published reserves at least this era, and g itself, which may publish
// the node and dereference it afterwards, already has (the raise is a
// store before the node's publication).
func (p *Pool[T]) birthFor(g *Guard) uint64 {
	pp := &g.s.Value
	p.c.reserve(pp)
	return pp.reserved
}

// noteBirth lowers b's birth era to x's, which is being retired into b.
func (p *Pool[T]) noteBirth(b *nodeBatch[T], x *T) {
	n := (*bornNode[T])(unsafe.Pointer(x))
	if n.pool != p {
		panic("epoch: Pool.Retire of a node that did not come from this Pool's Get (with WithRobust, a Pool keeps each node's birth era beside it)")
	}
	b.birth = min(b.birth, n.birth)
}

// reclaimRobust judges every sealed batch of l by r: a batch that no guard
// reaches is reclaimed whole, and one that a guard reaches is sifted, node
// by node, when the guards reaching it have changed since it was last
// sifted. A batch with one node that a stalled guard may hold then no
// longer holds back the others: what a guard holds back is the nodes that
// were alive while it could load, not the batches they were retired with.
func (p *Pool[T]) reclaimRobust(l *poolLocal[T], r *reservations) {
	kept := l.sealed[:0]
	for _, b := range l.sealed {
		reach := r.reach(b.epoch)
		switch {
		case reach < b.birth:
			p.release(l, p.reclaim(b))
		case reach < b.reach:
			if f := p.sift(b, reach, l); f != nil {
				p.release(l, p.reclaim(f))
			}
			kept = append(kept, b)
		default:
			kept = append(kept, b)
		}
	}
	clear(l.sealed[len(kept):])
	l.sealed = kept
}

// release makes b, reclaimed, the free list of l if that is empty, or
// shares it.
func (p *Pool[T]) release(l *poolLocal[T], b *nodeBatch[T]) {
	if l.free == nil || len(l.free.nodes) == 0 {
		if old := l.free; old != nil && l.spare == nil {
			l.spare = old
		}
		l.free = b
		return
	}
	p.share(b)
}

// sift moves the nodes of b born after reach, which no guard reaches, into
// a batch of their own and returns it (nil if there are none); b keeps the
// others, its birth lowered to theirs. l, if not nil, lends its spare
// batch.
func (p *Pool[T]) sift(b *nodeBatch[T], reach uint64, l *poolLocal[T]) *nodeBatch[T] {
	b.reach = reach
	held, birth := 0, uint64(unsifted)
	var f *nodeBatch[T]
	for _, x := range b.nodes {
		if bx := birthOf(x); bx <= reach {
			b.nodes[held] = x
			held++
			birth = min(birth, bx)
			continue
		}
		if f == nil {
			if l != nil && l.spare != nil {
				f, l.spare = l.spare, nil
			} else {
				f = &nodeBatch[T]{nodes: make([]*T, 0, len(b.nodes))}
			}
		}
		f.nodes = append(f.nodes, x)
	}
	clear(b.nodes[held:])
	b.nodes = b.nodes[:held]
	b.birth = birth
	return f
}
