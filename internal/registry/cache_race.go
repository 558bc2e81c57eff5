//go:build race

package registry

import (
	"sync/atomic"

	"github.com/go-reclaim/reclaim/internal/cacheline"
	"github.com/go-reclaim/reclaim/internal/pin"
)

// perP under the race detector: the same per-P cells, accessed with atomics
// so that the detector sees the hand-off between goroutines that share a P.
type perP[T any] struct {
	cells []cell[T]
}

type cell[T any] struct {
	s atomic.Pointer[Slot[T]]
	_ [cacheline.Size - 8]byte
}

func (c *perP[T]) init(n int) { c.cells = make([]cell[T], n) }

func (c *perP[T]) take() *Slot[T] {
	pid := pin.Pin()
	var s *Slot[T]
	if pid < len(c.cells) {
		s = c.cells[pid].s.Swap(nil)
	}
	pin.Unpin()
	return s
}

func (c *perP[T]) give(s *Slot[T]) bool {
	pid := pin.Pin()
	ok := pid < len(c.cells) && c.cells[pid].s.CompareAndSwap(nil, s)
	pin.Unpin()
	return ok
}
