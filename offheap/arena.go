package offheap

import (
	"context"
	"errors"
	"fmt"
	"math/bits"
	"sync/atomic"
	"unsafe"

	"github.com/go-reclaim/reclaim/epoch"
)

// MinRegion is the smallest region size class of an Arena.
const MinRegion = 16

// Ref names one byte region of an Arena: its size class, the slot handle in
// that class, and the length asked for. The zero Ref is never valid.
type Ref struct {
	h     Handle
	class uint8
	n     uint32
}

// Len returns the length of the region.
func (r Ref) Len() int { return int(r.n) }

// String formats the reference.
func (r Ref) String() string { return fmt.Sprintf("ref(%d bytes, class %d, %v)", r.n, r.class, r.h) }

// Arena holds variable-length byte regions (the keys and values of a cache)
// in memory the garbage collector never scans, with a Slab's guarantees:
// Bytes returns the region in place, valid until the guard exits; Free
// retires it through the epoch collector; a stale or forged Ref is ErrStale
// (a Ref of another Arena may name a live region of this one, as a Slab's
// handle may: keep each Ref with its Arena), a second Free ErrDoubleFree,
// and WithChecks adds poisoning, stacks and the leak report.
//
// Regions are rounded up to a power-of-two size class from MinRegion to
// maxRegion; each class is a slab of fixed-size slots. The byte budget
// (maxBytes, counted in rounded sizes) is shared by all classes: Alloc fails
// with ErrFull when it would be exceeded, and a freed region's bytes count
// until its grace period ends (and a slot retired for good, at the end of
// its generations or quarantined in checked mode, gives its bytes back to
// the budget but not to its class, which can then be full first). Each
// class reserves room for maxBytes/size slots of size bytes plus an 8-byte
// header each (committed only when touched): 1.5*maxBytes for the 16-byte
// class, less for larger ones, so an Arena reserves at most
// (log2(maxRegion/MinRegion)+2)*maxBytes of address space (8*maxBytes for
// regions of up to 1 KiB): on 32-bit systems keep maxBytes small.
//
// All methods are safe for concurrent use. The zero value is not usable;
// make Arenas with NewArena.
type Arena struct {
	c         *epoch.Collector
	classes   []*pool
	limit     int64
	maxRegion int
	used      atomic.Int64
}

// NewArena returns an arena of at most maxBytes bytes (in rounded region
// sizes) whose regions are at most maxRegion bytes, reclaimed through c
// (epoch.Default() if nil). It fails with ErrSize if maxRegion or maxBytes
// is not positive, maxRegion exceeds 1 GiB, a region of maxRegion bytes,
// rounded up to its size class, would not fit in maxBytes, or a class
// would need 2^32 slots or more (maxBytes of 64 GiB or more) or more
// address space than the system grants.
func NewArena(c *epoch.Collector, maxBytes, maxRegion int, opts ...Option) (*Arena, error) {
	if maxBytes <= 0 || maxRegion <= 0 || maxRegion > 1<<30 || MinRegion<<classOf(maxRegion) > maxBytes {
		return nil, fmt.Errorf("%w: NewArena(maxBytes %d, maxRegion %d): the largest region, rounded up to its class, must fit in maxBytes",
			ErrSize, maxBytes, maxRegion)
	}
	if c == nil {
		c = epoch.Default()
	}
	a := &Arena{c: c, limit: int64(maxBytes), maxRegion: maxRegion}
	for size := MinRegion; ; size <<= 1 {
		p := new(pool)
		capacity := max(maxBytes/size, 1)
		if err := p.init(c, uintptr(size), capacity, opts); err != nil {
			for _, q := range a.classes {
				_ = q.close(context.Background())
			}
			return nil, err
		}
		p.onReclaim = func() { a.used.Add(-int64(size)) }
		a.classes = append(a.classes, p)
		if size >= maxRegion {
			break
		}
	}
	return a, nil
}

func classOf(n int) int {
	if n <= MinRegion {
		return 0
	}
	return bits.Len(uint(n-1)) - bits.Len(MinRegion-1)
}

// Alloc returns a zeroed region of n bytes. The slice is the caller's until
// it frees the Ref; publish the Ref (or a Slab value holding it) with a
// synchronizing operation after filling it.
//
// Alloc fails with ErrSize if n is not positive or exceeds maxRegion, with
// ErrFull when the byte budget is spent, with ErrClosed after Close, and in
// checked mode with ErrCorrupted as Slab.Alloc does.
func (a *Arena) Alloc(n int) (Ref, []byte, error) {
	if n <= 0 || n > a.maxRegion {
		a.mustBeMade("Alloc")
		return Ref{}, nil, fmt.Errorf("%w: Alloc(%d): regions are 1 to %d bytes", ErrSize, n, a.maxRegion)
	}
	k := classOf(n)
	size := int64(MinRegion) << k
	if !a.reserve(size) {
		if a.classes[k].closed.Load() {
			return Ref{}, nil, closedErr("Alloc")
		}
		return Ref{}, nil, fmt.Errorf("%w: %d of %d bytes in use or waiting for their grace period", ErrFull, a.used.Load(), a.limit)
	}
	h, ptr, err := a.classes[k].alloc()
	if err != nil {
		a.used.Add(-size)
		return Ref{}, nil, err
	}
	return Ref{h: h, class: uint8(k), n: uint32(n)}, unsafe.Slice((*byte)(ptr), n), nil
}

// mustBeMade panics, naming op, if a is a zero Arena (not made by
// NewArena).
func (a *Arena) mustBeMade(op string) {
	if a.c == nil {
		panic("offheap: " + op + " on a zero Arena: make Arenas with NewArena")
	}
}

// reserve takes size bytes of the budget if they fit. It adds only what
// fits, so an Alloc that fails never makes a concurrent one that fits fail
// too (as adding first and taking back did: the budget looked spent while
// the failing request was in it).
func (a *Arena) reserve(size int64) bool {
	for used := a.used.Load(); used+size <= a.limit; used = a.used.Load() {
		if a.used.CompareAndSwap(used, used+size) {
			return true
		}
	}
	return false
}

func (a *Arena) class(op string, r Ref) (*pool, error) {
	if int(r.class) >= len(a.classes) || r.n == 0 || int64(r.n) > int64(MinRegion)<<r.class {
		a.mustBeMade(op)
		return nil, &MisuseError{Err: ErrStale, Op: op, Handle: r.h, Detail: "forged region reference: " + r.String()}
	}
	return a.classes[r.class], nil
}

// Bytes returns the region r in place. The slice stays valid until g exits,
// even if r is freed meanwhile. It fails with ErrStale for a freed or forged
// Ref and ErrClosed after Close, and panics for a nil or foreign guard
// (after the Ref's own checks: a zero or forged Ref is ErrStale whatever
// the guard).
func (a *Arena) Bytes(g *epoch.Guard, r Ref) ([]byte, error) {
	p, err := a.class("Bytes", r)
	if err != nil {
		return nil, err
	}
	ptr, err := p.get(g, r.h)
	if err != nil {
		return nil, err
	}
	return unsafe.Slice((*byte)(ptr), r.n), nil
}

// Free frees r; its bytes are reused (and leave the budget) after the grace
// period. It fails with ErrDoubleFree, ErrStale or ErrClosed as Slab.Free.
func (a *Arena) Free(g *epoch.Guard, r Ref) error {
	p, err := a.class("Free", r)
	if err != nil {
		return err
	}
	return p.free(g, r.h)
}

// Used returns the bytes in use or waiting for their grace period, in
// rounded region sizes.
func (a *Arena) Used() int64 { return a.used.Load() }

// Close returns the arena's memory to the OS, as Slab.Close does; in checked
// mode it reports leaked regions (*LeakError, per size class).
func (a *Arena) Close() error { return a.CloseContext(context.Background()) }

// CloseContext is Close with a bound on the wait for open guards. If ctx
// ends first, the classes that were closed stay closed, and a later Close
// or CloseContext closes the others and reports what they hold (leaks
// included); ErrClosed only once every class was closed before the call.
// It panics on a nil ctx, before it changes anything.
func (a *Arena) CloseContext(ctx context.Context) error {
	if ctx == nil {
		panic("offheap: CloseContext with a nil context")
	}
	a.mustBeMade("Close")
	var errs []error
	closed := 0
	for _, p := range a.classes {
		switch err := p.close(ctx); {
		case errors.Is(err, ErrClosed):
			closed++
		case err != nil:
			errs = append(errs, err)
		}
	}
	if closed == len(a.classes) {
		return closedErr("Close")
	}
	return errors.Join(errs...)
}
