package registry

import (
	"unsafe"

	"github.com/go-reclaim/reclaim/internal/perp"
	"github.com/go-reclaim/reclaim/internal/pin"
	"github.com/go-reclaim/reclaim/internal/release"
)

// perP gives each P a home slot: the first slot put back on that P is
// adopted as its home and never enters the shared free list again. Taking
// the home slot needs the pin (only the goroutine pinned to the P may flip
// owned from 0 to 1, so no two takers race), but giving it back does not:
// the owner, on whatever P it runs by then, clears owned with a release
// store. A pooled Enter+Exit thus pins once and executes no locked
// instruction. A slot that is not a home goes through the free list.
//
// A cell holds the P's home *Slot[T] as an unsafe.Pointer, in
// perp.Pointers, whose Pin and Unpin inline into take and adopt.
type perP[T any] struct {
	cells perp.Pointers
}

func (c *perP[T]) init() { c.cells = perp.NewPointers() }

// take returns the P's home slot if it has one and nobody owns it.
func (c *perP[T]) take() *Slot[T] {
	var s *Slot[T]
	cell := c.cells.Pin(pin.Pin())
	if cell != nil {
		if h := (*Slot[T])(*cell); h != nil && h.owned.Load() == 0 {
			release.StoreUint64(&h.owned, 1)
			s = h
		}
	}
	c.cells.Unpin(cell)
	return s
}

// adopt makes s, which the caller owns and is giving back, the home of the
// current P if the P has none yet.
func (c *perP[T]) adopt(s *Slot[T]) bool {
	cell := c.cells.Pin(pin.Pin())
	ok := cell != nil && *cell == nil
	if ok {
		s.home = true
		*cell = unsafe.Pointer(s)
	}
	c.cells.Unpin(cell)
	return ok
}
