package refcount

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/go-reclaim/reclaim/hazard"
	"github.com/go-reclaim/reclaim/internal/pin"
)

// domain protects every AtomicArc's count increments and borrowed loads.
// Its threshold of 1 makes every sealed batch of retired slot references
// (64 per processor) start a scan, so given-up references are released
// soon rather than after a thousand more Stores.
var domain = hazard.New(hazard.WithThreshold(1))

// protectors holds one hazard pointer per processor for Load: a goroutine
// uses the one of the processor it is pinned to, for the few instructions
// between protecting the slot's value and incrementing its count, so Load
// needs no hazard pointer hand-off. Pinning is what makes the per-processor
// pointer exclusive; the race detector does not see it, but the pointers
// are only ever written with atomic operations.
var (
	protectors   atomic.Pointer[[]hazard.Pointer]
	protectorsMu sync.Mutex
)

// loadStrong takes a strong reference to the value src holds (nil if it
// is empty) under hazard protection.
func loadStrong[T any](src *atomic.Pointer[arcInner[T]]) *arcInner[T] {
	pid := pin.Pin()
	if t := protectors.Load(); t != nil && pid < len(*t) {
		in := acquire(&(*t)[pid], src)
		pin.Unpin()
		return in
	}
	pin.Unpin()
	return loadStrongSlow(src)
}

// loadStrongSlow is loadStrong before this processor has a protector
// (first use, or GOMAXPROCS has grown): it makes the protectors and uses a
// hazard pointer of its own this time.
func loadStrongSlow[T any](src *atomic.Pointer[arcInner[T]]) *arcInner[T] {
	growProtectors()
	hp := domain.Acquire()
	defer hp.Release()
	return acquire(hp, src)
}

func growProtectors() {
	protectorsMu.Lock()
	defer protectorsMu.Unlock()
	var t []hazard.Pointer
	if old := protectors.Load(); old != nil {
		t = *old
	}
	n := runtime.GOMAXPROCS(0)
	if len(t) >= n {
		return
	}
	grown := make([]hazard.Pointer, n)
	copy(grown, t)
	for i := len(t); i < n; i++ {
		grown[i] = *domain.Acquire()
	}
	protectors.Store(&grown)
}

// acquire protects the value src holds with hp, takes a strong reference
// to it and clears hp. The increment is safe: the protection was
// published before src was re-read, so the slot's own reference is not
// released (see retireSlotRef) until hp is reset, and the count stays at
// least 1 until the increment is done.
func acquire[T any](hp *hazard.Pointer, src *atomic.Pointer[arcInner[T]]) *arcInner[T] {
	in := protect(hp, src)
	if in != nil {
		in.strong.Add(1)
		hp.Reset()
	}
	return in
}

// protect is the one protection both Load and Borrow rely on.
func protect[T any](hp *hazard.Pointer, src *atomic.Pointer[arcInner[T]]) *arcInner[T] {
	return hazard.Protect(hp, src)
}

// retireSlotRef hands the reference an AtomicArc held to in (which it no
// longer holds) to the domain: it is released once no hazard pointer
// protects in, so a Load that read in from the slot before it was replaced
// increments a count that is still at least 1.
func retireSlotRef(in *header) {
	if in != nil {
		hazard.Retire(domain, in, releaseSlotRef)
	}
}

func releaseSlotRef(h *header) { h.releaseStrong() }

// Barrier waits until every reference that an AtomicArc gave up (through
// Store, Swap or CompareAndSwap) before the call has been released, and
// so every destructor those releases ran has returned: after Barrier, a
// value that no handle, AtomicArc or Guard holds any more has been
// destroyed. It waits for Guards that borrow such values to be released;
// if one is still held when ctx ends, Barrier returns ctx.Err() and the
// references it protects stay pending.
//
// Without Barrier, given-up references are released as later Stores fill
// batches (at most 64 per processor wait), or at a later Barrier. A panic
// from a destructor propagates out of Barrier. Barrier must not be called
// from a destructor.
func Barrier(ctx context.Context) error { return domain.Barrier(ctx) }
