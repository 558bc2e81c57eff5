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
// Every write flushes it (retireSlotRef), so a given-up reference that no
// hazard pointer protects is released by the write itself; one that was
// protected is released by the next write's Flush, by Barrier, or by the
// domain's aging timer (hazard.DefaultMaxBatchAge), whichever comes first.
// Its threshold of 1 makes a batch that fills up start a scan at once.
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
		in, alive := acquire(&(*t)[pid], src)
		pin.Unpin()
		if !alive {
			in.destroyedInSlot("Load")
		}
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
	in, alive := acquire(hp, src)
	hp.Release()
	if !alive {
		in.destroyedInSlot("Load")
	}
	return in
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
// least 1 until the increment is done. Only misuse can break that (the
// slot's reference released through a copy of the handle given to it):
// then the count is zero, acquire leaves it so, as Clone would, and
// reports that the value is not alive; the caller panics once unpinned.
func acquire[T any](hp *hazard.Pointer, src *atomic.Pointer[arcInner[T]]) (in *arcInner[T], alive bool) {
	in = protect(hp, src)
	if in == nil {
		return nil, true
	}
	alive = in.incStrong()
	hp.Reset()
	return in, alive
}

// protect is the one protection both Load and Borrow rely on.
func protect[T any](hp *hazard.Pointer, src *atomic.Pointer[arcInner[T]]) *arcInner[T] {
	return hazard.Protect(hp, src)
}

// retireSlotRef hands the reference an AtomicArc held to in (which it no
// longer holds) to the domain and flushes the domain, so the reference is
// released before retireSlotRef returns unless a hazard pointer protects
// in, and a Load that read in from the slot before it was replaced
// increments a count that is still at least 1.
//
// Ordering: the writer's swap of the slot unlinks in before the Retire,
// and the Flush's scan starts after the Retire. By package hazard's
// contract (see hazard.Protect), a reader whose Protect returned in (its
// re-load came before the swap) is seen by that scan as protecting in,
// whether the scan's heavy fence or the reader's sequentially consistent
// publication is what orders them, so the reference stays pending; a
// reader whose re-load came after the swap sees another value and does not
// use in. So the scan releases the reference only once no reader can
// still increment the count through it or read the value through a Guard.
//
// A reference that stays pending (in was protected) is released by a later
// Flush (any AtomicArc write), by Barrier, or by the domain's aging timer
// (hazard.WithMaxBatchAge) once the protection has ended; whichever
// releases it runs the destructor if it was the last reference.
func retireSlotRef(in *header) {
	hazard.Retire(domain, in, releaseSlotRef)
	domain.Flush()
}

func releaseSlotRef(h *header) { h.releaseStrong() }

// Barrier waits until every reference that an AtomicArc gave up (through
// Store, Swap, CompareAndSwap or RCU) before the call has been released,
// and so every destructor those releases ran has returned: after Barrier, a
// value that no handle, AtomicArc or Guard holds any more has been
// destroyed, and its destructor is synchronized before Barrier returns. It
// waits for Guards that borrow such values to be released; if one is
// still held when ctx ends, Barrier returns ctx.Err() and the references
// it protects stay pending.
//
// Writes release the references they give up themselves unless a Guard
// (or a Load in progress) protects the value, and the aging timer releases
// those soon after the protection ends (see AtomicArc), so Barrier is for
// the places where the release must have happened: shutdown, tests.
//
// A goroutine that calls Barrier while it holds a Guard itself, on a value
// that was replaced, waits for its own Guard: Barrier returns ctx.Err()
// when ctx ends, and with context.Background() it never returns. A Guard
// does not record its goroutine, so Barrier cannot tell this from a slow
// reader; release the goroutine's own Guards before calling Barrier.
//
// A panic from a destructor propagates out of Barrier (one that the aging
// timer ran earlier is raised again, with its value). Barrier
// must not be called from a destructor.
func Barrier(ctx context.Context) error { return domain.Barrier(ctx) }
