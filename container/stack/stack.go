// Package stack holds Treiber stacks (R. K. Treiber, "Systems Programming:
// Coping with Parallelism", IBM RJ 5118, 1986): a singly linked list whose
// head is swung by compare-and-swap.
//
// GC drops popped nodes to the garbage collector, the plain Go baseline.
// Epoch recycles them through an epoch.Pool, which is safe from ABA because
// a node is reused only after every guard that could have read it has
// exited.
package stack

import (
	"sync/atomic"

	"github.com/go-reclaim/reclaim/container/internal/check"
	"github.com/go-reclaim/reclaim/container/internal/yield"
	"github.com/go-reclaim/reclaim/epoch"
	"github.com/go-reclaim/reclaim/internal/spin"
)

type node[T any] struct {
	value T
	next  *node[T]
}

// GC is a Treiber stack whose popped nodes are left to the garbage
// collector. The zero value is an empty stack, safe for concurrent use.
type GC[T any] struct {
	head atomic.Pointer[node[T]]
}

// Push adds v on top.
func (s *GC[T]) Push(v T) { link(&s.head, &node[T]{value: v}) }

// link pushes n, which the caller owns, onto head. It reads no node that
// another goroutine could free, so it needs no protection in any variant.
func link[T any](head *atomic.Pointer[node[T]], n *node[T]) {
	var b spin.Backoff
	for {
		n.next = head.Load()
		if head.CompareAndSwap(n.next, n) {
			return
		}
		b.Pause()
	}
}

// Pop removes the top value; ok is false if the stack is empty.
func (s *GC[T]) Pop() (v T, ok bool) {
	var b spin.Backoff
	for {
		h := s.head.Load()
		if h == nil {
			return v, false
		}
		if s.head.CompareAndSwap(h, h.next) {
			return h.value, true
		}
		b.Pause()
	}
}

// Epoch is a Treiber stack whose nodes are recycled through an epoch.Pool.
// Every operation takes the guard of the calling goroutine. It is safe for
// concurrent use; create it with NewEpoch.
//
// It works on a classic Collector and on a robust one (epoch.WithRobust)
// alike, with no check of the mode: Pop loads the top node with epoch.Load,
// which keeps a robust guard's reservation current, and the head, a root,
// shows the node reachable; Push reads no node another goroutine could
// retire; and every node comes from the pool's Get, as a robust Pool
// requires of what it takes back.
type Epoch[T any] struct {
	head atomic.Pointer[node[T]]
	pool *epoch.Pool[node[T]]
	c    *epoch.Collector // the pool's, checked against every guard
}

// NewEpoch returns an empty stack whose nodes are reclaimed through c.
func NewEpoch[T any](c *epoch.Collector) *Epoch[T] {
	return &Epoch[T]{pool: epoch.NewPool[node[T]](c), c: c}
}

// Push adds v on top. g must be an open guard of the stack's collector: Push
// panics otherwise (an exited guard as far as epoch.Guard can tell: see
// there), and on a zero Epoch, before it changes anything.
func (s *Epoch[T]) Push(g *epoch.Guard, v T) {
	check.Guard[T]("stack: Epoch.Push", g, s.c)
	n := s.pool.Get(g)
	n.value = v
	link(&s.head, n)
}

// Pop removes the top value; ok is false if the stack is empty. The guard
// makes reading h.next safe (h cannot be reused while g is open) and makes
// the CAS immune to ABA (h cannot come back to the top while g is open).
// It panics as Push does.
func (s *Epoch[T]) Pop(g *epoch.Guard) (v T, ok bool) {
	check.Guard[T]("stack: Epoch.Pop", g, s.c)
	var b spin.Backoff
	for {
		h := epoch.Load(g, &s.head)
		if h == nil {
			return v, false
		}
		if yield.Enabled {
			yield.Point() // h is held, not yet swung off
		}
		if s.head.CompareAndSwap(h, h.next) {
			v = h.value
			s.pool.Retire(g, h)
			return v, true
		}
		b.Pause()
	}
}
