package queue

import (
	"github.com/go-reclaim/reclaim/container/internal/check"
	"github.com/go-reclaim/reclaim/hazard"
)

// HazardPointers is how many hazard pointers Hazard's operations need:
// Dequeue protects the head and its successor; Enqueue uses the first.
const HazardPointers = 2

// Hazard is a Michael-Scott queue whose dequeued nodes are retired through a
// hazard.Pool and recycled once no hazard pointer protects them. It is safe
// for concurrent use; create it with NewHazard.
//
// Operations take hp, an Array of at least HazardPointers hazard pointers
// of the queue's domain held by the calling goroutine (they panic on any
// other, and on a zero Hazard, before changing anything), and leave them
// reset: a goroutine acquires them once for many operations.
type Hazard[T any] struct {
	q    core[T]
	pool *hazard.Pool[node[T]]
	d    *hazard.Domain // the pool's, checked against every Array
}

// NewHazard returns an empty queue whose nodes are reclaimed through d.
func NewHazard[T any](d *hazard.Domain) *Hazard[T] {
	return &Hazard[T]{pool: hazard.NewPool[node[T]](d), d: d}
}

// Enqueue appends v. hp's first pointer protects the tail node while v's
// node is linked after it.
func (q *Hazard[T]) Enqueue(hp *hazard.Array, v T) {
	check.Array[T]("queue: Hazard.Enqueue", hp, q.d, HazardPointers)
	n := q.pool.Get()
	n.value = v
	ps := [HazardPointers]*hazard.Pointer{hp.At(0)} // the second is not used
	for !q.q.enqueue(n, protection[T]{hp: &ps}) {
		q.q.start(new(node[T])) // the hazard.Pool takes back any node
	}
	ps[0].Reset()
}

// Dequeue removes the first value; ok is false if the queue is empty. The
// old dummy node is retired to the pool.
func (q *Hazard[T]) Dequeue(hp *hazard.Array) (v T, ok bool) {
	check.Array[T]("queue: Hazard.Dequeue", hp, q.d, HazardPointers)
	ps := [HazardPointers]*hazard.Pointer{hp.At(0), hp.At(1)}
	v, old, ok := q.q.dequeue(protection[T]{hp: &ps})
	ps[0].Reset()
	ps[1].Reset()
	if ok {
		q.pool.Retire(old)
	}
	return v, ok
}
