package queue

import (
	"sync/atomic"

	"github.com/go-reclaim/reclaim/container/internal/check"
	"github.com/go-reclaim/reclaim/container/internal/yield"
	"github.com/go-reclaim/reclaim/epoch"
	"github.com/go-reclaim/reclaim/hazard"
	"github.com/go-reclaim/reclaim/internal/cacheline"
	"github.com/go-reclaim/reclaim/internal/spin"
)

type node[T any] struct {
	value T
	next  atomic.Pointer[node[T]]
}

// core is the algorithm, shared by the variants. head is the dummy node
// whose successor holds the first value; tail is the last node or, briefly,
// the one before it. Both are nil until the first Enqueue, so the zero value
// is an empty queue. They sit on separate cache lines: enqueuers write tail,
// dequeuers head.
type core[T any] struct {
	head atomic.Pointer[node[T]]
	_    cacheline.Pad
	tail atomic.Pointer[node[T]]
}

// start installs dummy as the first dummy node if the queue has none yet;
// a dummy that loses the race is left unpublished.
func (q *core[T]) start(dummy *node[T]) {
	if q.head.Load() == nil {
		q.head.CompareAndSwap(nil, dummy)
	}
	// No node is linked before tail is set, so head is still the dummy.
	q.tail.CompareAndSwap(nil, q.head.Load())
}

// protection is how an operation of core makes the nodes it dereferences
// safe: the one thing the variants do differently, so that one algorithm
// serves them all. It is one of
//
//   - the zero value: nothing to do, for the garbage collector and for a
//     classic epoch guard, which protects every node it loads;
//   - hp: hazard pointers, published and validated as hazard.Protect and
//     hazard.TryProtect do;
//   - g: a guard of a robust epoch Collector, which protects only what its
//     reservation covers: epoch.Load for a root, Guard.Reserve and the
//     same validation as hazard pointers for a node read out of another.
//
// Both kinds that protect need that validation, for the same reason: a
// node read out of h.next is in the queue, hence not retired, only as long
// as h is the head.
type protection[T any] struct {
	hp *[HazardPointers]*hazard.Pointer // slot i protects the i-th node an operation holds
	g  *epoch.Guard
}

// load loads the root src (head or tail, neither of which ever holds a
// retired node) and protects the node it returns with slot i. Call it only
// if validates(); otherwise a plain load is all there is to do (the core
// writes that out, since generic code does not inline this).
func (pr protection[T]) load(i int, src *atomic.Pointer[node[T]]) *node[T] {
	if pr.hp != nil {
		return hazard.Protect(pr.hp[i], src)
	}
	// epoch.Load, written out for the yield point.
	p := src.Load()
	if yield.Enabled {
		yield.Point() // p may be dequeued, retired and reclaimed before the reservation covers it
	}
	for !pr.g.Reserve() {
		p = src.Load()
	}
	return p
}

// validates reports whether pr protects anything (hazard pointers or a
// robust guard): if not, load and protect have nothing to do.
func (pr protection[T]) validates() bool { return pr.hp != nil || pr.g != nil }

// protect protects p, which the caller has just loaded from src, with slot
// i, and reports whether src still held p after the protection took
// effect; if not, p must not be dereferenced. The caller must still show
// that src's node was reachable then. A robust guard re-validates until
// Reserve reports its reservation current (see marked.Pointer.TryReserve
// for why checking once is not enough). Call it only if validates().
func (pr protection[T]) protect(i int, p *node[T], src *atomic.Pointer[node[T]]) bool {
	if pr.hp != nil {
		return hazard.TryProtect(pr.hp[i], p, src)
	}
	for !pr.g.Reserve() {
		if src.Load() != p {
			return false
		}
	}
	return true
}

// enqueue links n, which the caller owns, after the last node, protecting
// with slot 0 of pr the tail node whose next link it writes: a dequeued
// node has a non-nil next, so the CAS fails on one, but an unprotected one
// could be recycled as a new node with a nil next, and n linked after a
// node that is not in the queue would be lost. It reports false, doing
// nothing, if the queue has no dummy node yet: the caller starts it and
// calls again.
func (q *core[T]) enqueue(n *node[T], pr protection[T]) bool {
	var b spin.Backoff
	for {
		var t *node[T]
		if pr.validates() {
			t = pr.load(0, &q.tail)
		} else {
			t = q.tail.Load()
		}
		if t == nil {
			return false
		}
		if yield.Enabled {
			yield.Point() // without protection t could be dequeued and reused here
		}
		if next := t.next.Load(); next != nil {
			q.tail.CompareAndSwap(t, next) // help the enqueuer that linked next
			continue
		}
		if t.next.CompareAndSwap(nil, n) {
			q.tail.CompareAndSwap(t, n)
			return true
		}
		b.Pause()
	}
}

// dequeue unlinks the head and returns the first value; old is the former
// dummy, now unreachable, for the caller to retire. pr protects the head
// with slot 0 and, with slot 1, its successor, whose value is read before
// the CAS that makes it the new dummy.
func (q *core[T]) dequeue(pr protection[T]) (v T, old *node[T], ok bool) {
	var b spin.Backoff
	for {
		var h *node[T]
		if pr.validates() {
			h = pr.load(0, &q.head)
		} else {
			h = q.head.Load()
		}
		if h == nil {
			return v, nil, false // never started
		}
		if yield.Enabled {
			yield.Point() // a node linked after h now is born after the reservation
		}
		next := h.next.Load()
		if yield.Enabled {
			yield.Point() // next may be dequeued and reclaimed before it is protected
		}
		// next is in the queue, hence not retired, while h is the head.
		if pr.validates() && (!pr.protect(1, next, &h.next) || q.head.Load() != h) {
			continue
		}
		if next == nil {
			return v, nil, false
		}
		if t := q.tail.Load(); t == h {
			q.tail.CompareAndSwap(t, next) // tail lags behind next: help
			continue
		}
		if yield.Enabled {
			yield.Point() // h and next may be dequeued here: next must not be reclaimed
		}
		val := next.value // read before the CAS: next becomes the dummy, which the next dequeuer may retire
		if yield.Enabled {
			yield.Point() // another dequeuer may take val first: this CAS then fails
		}
		if q.head.CompareAndSwap(h, next) {
			return val, h, true
		}
		b.Pause()
	}
}

// GC is a Michael-Scott queue whose dequeued nodes are left to the garbage
// collector. The zero value is an empty queue, safe for concurrent use.
type GC[T any] struct {
	q core[T]
}

// Enqueue appends v.
func (q *GC[T]) Enqueue(v T) {
	n := &node[T]{value: v}
	for !q.q.enqueue(n, protection[T]{}) {
		q.q.start(new(node[T]))
	}
}

// Dequeue removes the first value; ok is false if the queue is empty.
func (q *GC[T]) Dequeue() (v T, ok bool) {
	v, _, ok = q.q.dequeue(protection[T]{})
	return v, ok
}

// Epoch is a Michael-Scott queue whose nodes are recycled through an
// epoch.Pool. Every operation takes the guard of the calling goroutine,
// which must be open and belong to the queue's collector: an operation
// panics otherwise (an exited guard as far as epoch.Guard can tell: see
// there), and on a zero Epoch, before it changes anything. It is safe for
// concurrent use; create it with NewEpoch.
//
// It works on a classic Collector and on a robust one (epoch.WithRobust).
// On a classic one the guard alone protects every node loaded under it, so
// the operations only load; on a robust one they protect as Hazard does,
// the head and its successor in Dequeue and the tail in Enqueue, with
// epoch.Load and Guard.Reserve instead of hazard pointers. Every node,
// dummies included, comes from the pool, as a robust Pool requires.
type Epoch[T any] struct {
	q      core[T]
	pool   *epoch.Pool[node[T]]
	c      *epoch.Collector // the pool's, checked against every guard
	robust bool             // the collector is robust: see protection
}

// NewEpoch returns an empty queue whose nodes are reclaimed through c.
func NewEpoch[T any](c *epoch.Collector) *Epoch[T] {
	return &Epoch[T]{pool: epoch.NewPool[node[T]](c), c: c, robust: c.Robust()}
}

// protection returns what g must do to protect the nodes an operation
// dereferences: nothing on a classic collector.
func (q *Epoch[T]) protection(g *epoch.Guard) protection[T] {
	if q.robust {
		return protection[T]{g: g}
	}
	return protection[T]{}
}

// Enqueue appends v, taking a node from the pool under g, an open guard of
// the queue's collector: Enqueue panics otherwise (an exited guard as far as
// epoch.Guard can tell: see there), and on a zero Epoch, before it changes
// anything.
func (q *Epoch[T]) Enqueue(g *epoch.Guard, v T) {
	check.Guard[T]("queue: Epoch.Enqueue", g, q.c)
	n := q.pool.Get(g)
	n.value = v
	for !q.q.enqueue(n, q.protection(g)) {
		q.q.start(q.pool.Get(g))
	}
}

// Dequeue removes the first value under g; ok is false if the queue is
// empty. The guard makes reading the head's successor safe and the CAS
// immune to ABA; the old dummy goes back to the pool after a grace period.
// It panics as Enqueue does.
func (q *Epoch[T]) Dequeue(g *epoch.Guard) (v T, ok bool) {
	check.Guard[T]("queue: Epoch.Dequeue", g, q.c)
	v, old, ok := q.q.dequeue(q.protection(g))
	if ok {
		q.pool.Retire(g, old)
	}
	return v, ok
}
