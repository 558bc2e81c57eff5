package queue

import (
	"sync/atomic"

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

// start installs the first dummy node.
func (q *core[T]) start() {
	if q.head.Load() == nil {
		q.head.CompareAndSwap(nil, new(node[T]))
	}
	// No node is linked before tail is set, so head is still the dummy.
	q.tail.CompareAndSwap(nil, q.head.Load())
}

// load loads src, protecting the result with hp if it is not nil.
func load[T any](hp *hazard.Pointer, src *atomic.Pointer[node[T]]) *node[T] {
	if hp == nil {
		return src.Load()
	}
	return hazard.Protect(hp, src)
}

// enqueue links n, which the caller owns, after the last node. hp, if not
// nil, protects the tail node whose next link it writes: a dequeued node
// has a non-nil next, so the CAS fails on one, but an unprotected one could
// be recycled as a new node with a nil next, and n linked after a node
// that is not in the queue would be lost.
func (q *core[T]) enqueue(n *node[T], hp *hazard.Pointer) {
	var b spin.Backoff
	for {
		t := load(hp, &q.tail)
		if t == nil {
			q.start()
			continue
		}
		yield.Point() // without protection t could be dequeued and reused here
		if next := t.next.Load(); next != nil {
			q.tail.CompareAndSwap(t, next) // help the enqueuer that linked next
			continue
		}
		if t.next.CompareAndSwap(nil, n) {
			q.tail.CompareAndSwap(t, n)
			return
		}
		b.Pause()
	}
}

// dequeue unlinks the head and returns the first value; old is the former
// dummy, now unreachable, for the caller to retire. hp, if not nil, holds
// two hazard pointers: one for the head, one for its successor, whose value
// is read before the CAS that makes it the new dummy.
func (q *core[T]) dequeue(hp *[2]*hazard.Pointer) (v T, old *node[T], ok bool) {
	var b spin.Backoff
	for {
		var h *node[T]
		if hp == nil {
			h = q.head.Load()
		} else {
			h = hazard.Protect(hp[0], &q.head)
		}
		if h == nil {
			return v, nil, false // never started
		}
		next := h.next.Load()
		yield.Point() // next may be dequeued and reclaimed before it is protected
		// next is in the queue, hence not retired, while h is the head.
		if hp != nil && (!hazard.TryProtect(hp[1], next, &h.next) || q.head.Load() != h) {
			continue
		}
		if next == nil {
			return v, nil, false
		}
		if t := q.tail.Load(); t == h {
			q.tail.CompareAndSwap(t, next) // tail lags behind next: help
			continue
		}
		v = next.value
		if q.head.CompareAndSwap(h, next) {
			return v, h, true
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
func (q *GC[T]) Enqueue(v T) { q.q.enqueue(&node[T]{value: v}, nil) }

// Dequeue removes the first value; ok is false if the queue is empty.
func (q *GC[T]) Dequeue() (v T, ok bool) {
	v, _, ok = q.q.dequeue(nil)
	return v, ok
}

// Epoch is a Michael-Scott queue whose nodes are recycled through an
// epoch.Pool. Every operation takes the guard of the calling goroutine,
// which must be open and belong to the queue's collector. It is safe for
// concurrent use; create it with NewEpoch.
type Epoch[T any] struct {
	q    core[T]
	pool *epoch.Pool[node[T]]
}

// NewEpoch returns an empty queue whose nodes are reclaimed through c.
func NewEpoch[T any](c *epoch.Collector) *Epoch[T] {
	return &Epoch[T]{pool: epoch.NewPool[node[T]](c)}
}

// Enqueue appends v, taking a node from the pool under g.
func (q *Epoch[T]) Enqueue(g *epoch.Guard, v T) {
	n := q.pool.Get(g)
	n.value = v
	q.q.enqueue(n, nil)
}

// Dequeue removes the first value under g; ok is false if the queue is
// empty. The guard makes reading the head's successor safe and the CAS
// immune to ABA; the old dummy goes back to the pool after a grace period.
func (q *Epoch[T]) Dequeue(g *epoch.Guard) (v T, ok bool) {
	v, old, ok := q.q.dequeue(nil)
	if ok {
		q.pool.Retire(g, old)
	}
	return v, ok
}
