package offheap

import (
	"context"
	"reflect"
	"unsafe"

	"github.com/go-reclaim/reclaim/epoch"
)

// Slab is a fixed-capacity store of values of a pointer-free type T, in
// memory obtained from the operating system that the garbage collector never
// scans. Alloc hands out a slot and a Handle; Get resolves a handle under an
// epoch guard; Free retires the slot through the epoch collector, so that it
// is reused only after every guard that could have resolved it has exited.
//
// All methods are safe for concurrent use. The zero value is not usable;
// make Slabs with NewSlab.
type Slab[T any] struct {
	p pool
}

// NewSlab returns a slab of at most capacity values of T, reclaimed through
// collector c (epoch.Default() if c is nil). The whole capacity is reserved
// up front as address space; pages are committed as slots are first used.
//
// NewSlab fails with ErrPointers if T contains Go pointers (pointers, strings,
// slices, maps, channels, funcs, interfaces, unsafe.Pointer), and with ErrSize
// if capacity is not positive, T has size zero, or the reservation does not
// fit the address space.
func NewSlab[T any](c *epoch.Collector, capacity int, opts ...Option) (*Slab[T], error) {
	if err := checkPointerFree(reflect.TypeFor[T]()); err != nil {
		return nil, err
	}
	s := new(Slab[T])
	var zero T
	if err := s.p.init(c, unsafe.Sizeof(zero), capacity, opts); err != nil {
		return nil, err
	}
	return s, nil
}

// Alloc takes a free slot, zeroes it, and returns its handle and a pointer
// to it. The pointer is the caller's until it frees the handle; publish the
// handle to other goroutines with a synchronizing operation (an atomic store,
// a channel send) after initializing the value.
//
// Alloc fails with ErrFull when every slot is live or still waiting for its
// grace period, with ErrClosed after Close, and with ErrCorrupted if the
// slot it was about to reuse had been written after Free (checked mode) or
// its header overwritten (any mode; a best-effort check of the free-list
// link, which then drops the rest of the free list). A pointer from an
// Alloc that races Close must not be used after Close returns.
func (s *Slab[T]) Alloc() (Handle, *T, error) {
	h, ptr, err := s.p.alloc()
	return h, (*T)(ptr), err
}

// Get resolves h. The pointer stays valid until g exits, even if another
// goroutine frees h meanwhile (the slot is not reused before g exits). Get is
// lock-free and does not allocate.
//
// Get fails with ErrStale if h was freed or was never issued by this slab
// (in checked mode the *MisuseError says where it was allocated and freed),
// and with ErrClosed after Close. It panics if g is nil or belongs to another
// collector than the slab's.
func (s *Slab[T]) Get(g *epoch.Guard, h Handle) (*T, error) {
	ptr, err := s.p.get(g, h)
	return (*T)(ptr), err
}

// Peek returns the slot h names without checking that h is live: the read
// path of a lock-free structure
// that loads handles, under a guard, from links only it updates. Such a
// handle was live when the guard could first see it, so its slot is not
// reused before the guard exits, as with Get; the structure's readers
// then skip Get's check of the generation (the guard and capacity checks,
// the closed flag and the header's load). Peek of a handle from anywhere
// else reads whatever the slot holds now: use Get. In checked mode a slot
// freed and reclaimed too early reads as PoisonByte, which a stress test
// notices. Peek panics if h's index is beyond the capacity. Peek does not
// check the closed flag: it must not be called once Close has been called,
// nor run concurrently with Close (Close unmaps the memory when its
// Barrier returns, and a guard entered after the Barrier began does not
// hold it back, so such a Peek may fault).
func (s *Slab[T]) Peek(h Handle) *T {
	if h.Index() >= s.p.capacity {
		s.p.mustBeMade("Peek")
		panic("offheap: Peek of a handle beyond the slab's capacity: " + h.String())
	}
	return (*T)(s.p.slot(h.Index()))
}

// Free frees h. Its generation changes at once, so from now on Get(h) fails
// with ErrStale; the slot goes back to the free list after the grace period
// (epoch.Retire through g). Pointers to the value obtained under guards open
// now stay valid until those guards exit.
//
// Free fails with ErrDoubleFree if h was already freed, ErrStale if h was
// never issued by this slab, and ErrClosed after Close. It panics if g is
// nil or belongs to another collector.
func (s *Slab[T]) Free(g *epoch.Guard, h Handle) error { return s.p.free(g, h) }

// Close waits for one grace period of the slab's collector (every guard
// open now exits), then returns the memory to the OS. From the moment Close
// is called, Alloc, Get and Free fail with ErrClosed; a second Close does
// too. Values still allocated are dropped; in checked mode Close then returns
// an error wrapping a *LeakError (errors.As finds it; errors.Is finds
// ErrLeaked) that lists them.
//
// Close must not be called inside a guard of the slab's collector on the same
// goroutine (it would wait for itself); use CloseContext to bound the wait.
// Close the slab before its collector.
func (s *Slab[T]) Close() error { return s.p.close(context.Background()) }

// CloseContext is Close with a bound on the wait for open guards. If ctx ends
// first it returns an error wrapping ctx.Err(), the memory stays mapped, and
// a later Close or CloseContext finishes the job. It panics on a nil ctx,
// before it changes anything.
func (s *Slab[T]) CloseContext(ctx context.Context) error { return s.p.close(ctx) }

// Stats returns a snapshot of the slab's occupancy.
func (s *Slab[T]) Stats() Stats { return s.p.stats() }
