package offheap

import "fmt"

// Handle names one allocation of a Slab: a slot index and the slot's
// generation at allocation time. The generation is odd while the slot is live
// and is incremented by every Free and every Alloc, so a handle kept after its
// Free no longer matches and is rejected with ErrStale, even after the slot
// has been reused. The zero Handle is never valid.
//
// A Handle is a plain integer: it can be stored in off-heap memory, in atomic
// words, or used as a map key.
type Handle uint64

func makeHandle(index, gen uint32) Handle { return Handle(uint64(gen)<<32 | uint64(index)) }

// Index returns the slot index the handle names.
func (h Handle) Index() uint32 { return uint32(h) }

// Generation returns the slot generation the handle was issued with.
func (h Handle) Generation() uint32 { return uint32(h >> 32) }

// String formats the handle as index@generation.
func (h Handle) String() string { return fmt.Sprintf("handle(%d@%d)", h.Index(), h.Generation()) }
