package refcount

import (
	"context"
	"sync/atomic"

	"github.com/go-reclaim/reclaim/hazard"
)

// domain protects the values that Borrow's Guards read. Every write
// reclaims the reference it gave up (retireSlotRef), so one that no Guard
// protects is released by the write itself; one that was protected is
// released by the Flush of the next write that gives up a reference, by
// Barrier, or by the domain's aging timer (hazard.DefaultMaxBatchAge),
// whichever comes first. Its threshold of 1 makes a batch that fills up
// start a scan at once.
var domain = hazard.New(hazard.WithThreshold(1))

// protect is the protection Borrow's Guard relies on.
func protect[T any](hp *hazard.Pointer, src *atomic.Pointer[arcInner[T]]) *arcInner[T] {
	return hazard.Protect(hp, src)
}

// retireSlotRef releases the reference an AtomicArc held to in (which it
// no longer holds) before it returns, unless a Guard's hazard pointer
// protects in: then the domain keeps it, retired. hazard.Reclaim does
// that with one heavy fence and a read of the hazard slots (Retire and
// Flush took a batch, a hand-over and a scan: ArcStore 1,078 to 547 ns on
// the AMD EPYC, 248 to 51 ns on the sequentially consistent path); the
// Flush after it releases what earlier writes left protected, and costs a
// few loads when nothing is pending.
//
// Ordering: the writer's swap of the slot unlinks in before Reclaim. By
// package hazard's contract (see hazard.Reclaim and hazard.Protect), a
// Borrow whose Protect returned in (its re-load came before the swap) is
// seen by Reclaim as protecting in, whether Reclaim's heavy fence or the
// reader's sequentially consistent publication is what orders them, so
// the reference stays pending; a Borrow whose re-load came after the swap
// sees another value and does not use in. So the reference is released
// only once no Guard can still read the value.
//
// A reference that stays pending (in was protected) is released by a later
// Flush (any AtomicArc write), by Barrier, or by the domain's aging timer
// (hazard.WithMaxBatchAge) once the protection has ended; whichever
// releases it runs the destructor if it was the last reference.
func retireSlotRef(in *header) {
	hazard.Reclaim(domain, in, releaseSlotRef)
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
// protects the value, and the aging timer releases those soon after the
// protection ends (see AtomicArc), so Barrier is for
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
