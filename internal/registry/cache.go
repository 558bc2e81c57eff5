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
// may flip owned from 0 to 1, so no two takers race), but giving it back
// does not: the owner, on whatever P it runs by then, clears owned with a
// release store. A pooled Enter+Exit thus pins once and executes no locked
// instruction.
//
// While the home is owned for long (a guard held across a long call, an
// outer guard with pooled guards nested in it), the spare serves the P
// instead, as a plain one-slot cache: taken and given back under the pin.
// Only when both are busy does a Get or Put touch the free list.
//
// A cell holds the home and the spare as unsafe.Pointers in
// perp.PointerPairs, whose Pin and Unpin inline into take and adopt.
type perP[T any] struct {
	cells perp.PointerPairs
}

const (
	homeCell  = 0
	spareCell = 1
)

func (c *perP[T]) init() { c.cells = perp.NewPointerPairs() }

// take returns the P's home slot if it has one and nobody owns it, else
// the P's spare, if any.
func (c *perP[T]) take() *Slot[T] {
	var s *Slot[T]
	cell := c.cells.Pin(pin.Pin())
	if cell != nil {
		if h := (*Slot[T])(cell[homeCell]); h != nil && h.owned.Load() == 0 {
			release.StoreUint64(&h.owned, 1)
			s = h
		} else if sp := cell[spareCell]; sp != nil {
			cell[spareCell] = nil
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
		case cell[homeCell] == nil:
			s.home = true
			cell[homeCell] = unsafe.Pointer(s)
		case cell[spareCell] == nil:
			cell[spareCell] = unsafe.Pointer(s)
		default:
			ok = false
		}
	}
	c.cells.Unpin(cell)
	return ok
}
