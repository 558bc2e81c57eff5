package stack

import (
	"sync/atomic"

	"github.com/go-reclaim/reclaim/container/internal/check"
	"github.com/go-reclaim/reclaim/container/internal/yield"
	"github.com/go-reclaim/reclaim/hazard"
	"github.com/go-reclaim/reclaim/internal/spin"
)

// Hazard is a Treiber stack whose popped nodes are retired through a
// hazard.Pool and, once no hazard pointer protects them, recycled for later
// pushes. It is safe for concurrent use; create it with NewHazard.
type Hazard[T any] struct {
	head atomic.Pointer[node[T]]
	pool *hazard.Pool[node[T]]
	d    *hazard.Domain // the pool's, checked against every hazard pointer
}

// NewHazard returns an empty stack whose nodes are reclaimed through d.
func NewHazard[T any](d *hazard.Domain) *Hazard[T] {
	return &Hazard[T]{pool: hazard.NewPool[node[T]](d), d: d}
}

// Push adds v on top. It reads no shared node, so it needs no protection.
// It panics on a zero Hazard.
func (s *Hazard[T]) Push(v T) {
	check.Made[T]("stack: Hazard.Push", s.d != nil)
	n := s.pool.Get()
	n.value = v
	link(&s.head, n)
}

// Pop removes the top value; ok is false if the stack is empty. hp is a
// hazard pointer of the stack's domain, held by the caller; Pop leaves it
// reset. Protecting the top node makes reading its next field safe and the
// CAS immune to ABA: the node cannot be recycled while hp protects it. Pop
// panics if hp is nil, released or of another domain, and on a zero Hazard,
// before it changes anything.
func (s *Hazard[T]) Pop(hp *hazard.Pointer) (v T, ok bool) {
	check.Pointer[T]("stack: Hazard.Pop", hp, s.d)
	var b spin.Backoff
	for {
		h := hazard.Protect(hp, &s.head)
		if h == nil {
			hp.Reset()
			return v, false
		}
		if yield.Enabled {
			yield.Point() // h is held, not yet swung off
		}
		if s.head.CompareAndSwap(h, h.next) {
			v = h.value
			hp.Reset()
			s.pool.Retire(h)
			return v, true
		}
		b.Pause()
	}
}
