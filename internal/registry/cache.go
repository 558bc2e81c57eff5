package registry

import (
	"github.com/go-reclaim/reclaim/internal/perp"
	"github.com/go-reclaim/reclaim/internal/pin"
)

// perP keeps one idle slot per P, so that a goroutine that releases a slot
// and acquires one again on the same P touches no shared cache line.
type perP[T any] struct {
	cells perp.Shards[*Slot[T]]
}

func (c *perP[T]) init() { c.cells = perp.New[*Slot[T]]() }

func (c *perP[T]) take() *Slot[T] {
	var s *Slot[T]
	cell := c.cells.Pin(pin.Pin())
	if cell != nil {
		s, *cell = *cell, nil
	}
	c.cells.Unpin(cell)
	return s
}

func (c *perP[T]) give(s *Slot[T]) bool {
	cell := c.cells.Pin(pin.Pin())
	ok := cell != nil && *cell == nil
	if ok {
		*cell = s
	}
	c.cells.Unpin(cell)
	return ok
}
