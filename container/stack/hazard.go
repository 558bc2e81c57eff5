package stack

import (
	"sync"
	"sync/atomic"

	"github.com/go-reclaim/reclaim/hazard"
	"github.com/go-reclaim/reclaim/internal/spin"
)

// Hazard is a Treiber stack whose popped nodes are retired through a
// hazard.Domain and, once no hazard pointer protects them, recycled for
// later pushes. It is safe for concurrent use; create it with NewHazard.
type Hazard[T any] struct {
	head atomic.Pointer[node[T]]
	d    *hazard.Domain
	free sync.Pool      // nodes whose reclamation is done
	put  func(*node[T]) // s.recycle, bound once so Retire does not allocate
}

// NewHazard returns an empty stack whose nodes are reclaimed through d.
func NewHazard[T any](d *hazard.Domain) *Hazard[T] {
	s := &Hazard[T]{d: d}
	s.put = s.recycle
	return s
}

func (s *Hazard[T]) recycle(n *node[T]) { s.free.Put(n) }

// Push adds v on top. It reads no shared node, so it needs no protection.
func (s *Hazard[T]) Push(v T) {
	n, _ := s.free.Get().(*node[T])
	if n == nil {
		n = new(node[T])
	}
	n.value = v
	link(&s.head, n)
}

// Pop removes the top value; ok is false if the stack is empty. hp is a
// hazard pointer of the stack's domain, held by the caller; Pop leaves it
// reset. Protecting the top node makes reading its next field safe and the
// CAS immune to ABA: the node cannot be recycled while hp protects it.
func (s *Hazard[T]) Pop(hp *hazard.Pointer) (v T, ok bool) {
	var b spin.Backoff
	for {
		h := hazard.Protect(hp, &s.head)
		if h == nil {
			hp.Reset()
			return v, false
		}
		if s.head.CompareAndSwap(h, h.next) {
			v = h.value
			hp.Reset()
			hazard.Retire(s.d, h, s.put)
			return v, true
		}
		b.Pause()
	}
}
