//go:build !race

package registry

import (
	"github.com/go-reclaim/reclaim/internal/cacheline"
	"github.com/go-reclaim/reclaim/internal/pin"
)

// perP keeps one idle slot per P. While pinned, only the running goroutine
// can touch its P's cell, and a P passes between threads through the
// scheduler's own synchronization, so plain loads and stores suffice, as in
// sync.Pool. The race detector cannot see that argument; cache_race.go uses
// atomics instead.
type perP[T any] struct {
	cells []cell[T]
}

type cell[T any] struct {
	s *Slot[T]
	_ [cacheline.Size - 8]byte
}

func (c *perP[T]) init(n int) { c.cells = make([]cell[T], n) }

func (c *perP[T]) take() *Slot[T] {
	pid := pin.Pin()
	var s *Slot[T]
	if pid < len(c.cells) {
		s = c.cells[pid].s
		c.cells[pid].s = nil
	}
	pin.Unpin()
	return s
}

func (c *perP[T]) give(s *Slot[T]) bool {
	pid := pin.Pin()
	ok := pid < len(c.cells) && c.cells[pid].s == nil
	if ok {
		c.cells[pid].s = s
	}
	pin.Unpin()
	return ok
}
