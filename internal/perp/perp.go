// Package perp holds per-processor shards: one value per P, used only by
// the goroutine pinned to that P, so that the common path of a cache or a
// free list needs no atomic read-modify-write.
package perp

import (
	"runtime"
	"unsafe"

	"github.com/go-reclaim/reclaim/internal/cacheline"
	"github.com/go-reclaim/reclaim/internal/pin"
)

// Shards is one S per P, sized for GOMAXPROCS at New. The zero value has
// no shards: Pin always returns nil.
type Shards[S any] struct {
	cells []cell[S]
}

// New returns shards for the current GOMAXPROCS.
func New[S any]() Shards[S] {
	return Shards[S]{cells: make([]cell[S], runtime.GOMAXPROCS(0))}
}

// Pin disables preemption and returns the current P's shard, or nil if the
// P has none (GOMAXPROCS grew after New). Unpin must follow, with the same
// result, after a few instructions: the caller must not block, allocate
// or call anything that may pin or park (sync.Pool) in between. Callers
// write s.Pin(pin.Pin()): the runtime call stays in the caller, so that Pin
// is small enough to be inlined.
//
// While pinned, no other goroutine can run on this P, and a P passes
// between threads through the scheduler's own synchronization, so the
// shard needs only plain loads and stores, as in sync.Pool. The race
// detector cannot see that argument, so race builds also take a lock that
// is never contended (lock_race.go).
func (s *Shards[S]) Pin(pid int) *S {
	if i := uint(pid); i < uint(len(s.cells)) {
		c := &s.cells[i]
		c.lock()
		return &c.v
	}
	return nil
}

// Unpin ends what Pin began.
func (s *Shards[S]) Unpin(v *S) {
	if v != nil {
		(*cell[S])(unsafe.Pointer(v)).unlock()
	}
	pin.Unpin()
}

type cell[S any] struct {
	v S // first, so that Unpin can find the cell from &v
	raceLock
	_ cacheline.Pad
}

// PointerPairs is two unsafe.Pointers per P: Shards without generics, so
// that its Pin and Unpin inline into any caller (generic Shards' methods
// take a dictionary and may exceed the inlining budget; measured: pooled
// Enter+Exit 17% slower when they did not inline).
type PointerPairs struct {
	cells []cell[[2]unsafe.Pointer]
}

// NewPointerPairs returns pointer shards for the current GOMAXPROCS.
func NewPointerPairs() PointerPairs {
	return PointerPairs{cells: make([]cell[[2]unsafe.Pointer], runtime.GOMAXPROCS(0))}
}

// Pin is Shards.Pin.
func (s *PointerPairs) Pin(pid int) *[2]unsafe.Pointer {
	if i := uint(pid); i < uint(len(s.cells)) {
		c := &s.cells[i]
		c.lock()
		return &c.v
	}
	return nil
}

// Unpin is Shards.Unpin.
func (s *PointerPairs) Unpin(v *[2]unsafe.Pointer) {
	if v != nil {
		(*cell[[2]unsafe.Pointer])(unsafe.Pointer(v)).unlock()
	}
	pin.Unpin()
}
