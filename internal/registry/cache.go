package registry

import (
	"unsafe"

	"github.com/go-reclaim/reclaim/internal/perp"
	"github.com/go-reclaim/reclaim/internal/pin"
	"github.com/go-reclaim/reclaim/internal/release"
)

// perP gives each P a home slot and a spare. The first slot put back on a
// P is adopted as its home and never enters the shared free list again.
// Taking the home slot needs the pin (only the goroutine pinned to the P
// may flip the cell's Taken from 0 to 1, so no two takers race), but giving
// it back does not: the owner, on whatever P it runs by then, clears Taken
// with a release store (through the slot's homeTaken). A pooled Enter+Exit
// thus pins once and executes no locked instruction. Taken lies in the
// cell, beside the home pointer, rather than in the slot, so that take
// reads both with one dependent load after the pin.
//
// While the home is owned for long (a guard held across a long call, an
// outer guard with pooled guards nested in it), the spare serves the P
// instead, as a plain one-slot cache: taken and given back under the pin.
// Only when both are busy does a Get or Put touch the free list.
//
// perp.Homes holds the cells; its Pin and Unpin inline into take and
// adopt.
type perP[T any] struct {
	cells perp.Homes
}

func (c *perP[T]) init() { c.cells = perp.NewHomes() }

// take returns the P's home slot if it has one and nobody owns it, else
// the P's spare, if any.
func (c *perP[T]) take() *Slot[T] {
	var s *Slot[T]
	cell := c.cells.Pin(pin.Pin())
	if cell != nil {
		if h := cell.Home; h != nil && cell.Taken.Load() == 0 {
			release.StoreUint64(&cell.Taken, 1)
			s = (*Slot[T])(h)
		} else if sp := cell.Spare; sp != nil {
			cell.Spare = nil
			s = (*Slot[T])(sp)
		}
	}
	c.cells.Unpin(cell)
	return s
}

// adopt keeps s, which the caller owns, is giving back and is not a home,
// on the current P: as its home if the P has none yet, else as its spare if
// that is free. It reports false if neither is.
func (c *perP[T]) adopt(s *Slot[T]) bool {
	cell := c.cells.Pin(pin.Pin())
	ok := cell != nil
	if ok {
		switch {
		case cell.Home == nil:
			s.homeTaken = &cell.Taken
			cell.Home = unsafe.Pointer(s)
		case cell.Spare == nil:
			cell.Spare = unsafe.Pointer(s)
		default:
			ok = false
		}
	}
	c.cells.Unpin(cell)
	return ok
}
