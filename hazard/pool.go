package hazard

import (
	"sync"
	"unsafe"

	"github.com/go-reclaim/reclaim/internal/perp"
	"github.com/go-reclaim/reclaim/internal/pin"
	"github.com/go-reclaim/reclaim/internal/retire"
)

// Pool recycles objects of type T through a Domain: an object given to
// Retire comes back out of Get once no hazard pointer protects it, so a
// lock-free structure can reuse its nodes without ABA and without a
// protected reader ever seeing a node change under it.
//
// Reclaimed objects are passed to the OnReclaim function, if the Pool has
// one, then zeroed and kept in a per-processor free list of up
// to 64; full and empty lists move between processors through sync.Pools,
// so a processor that retires more than it gets does not hoard objects and
// the garbage collector may drop idle ones (Get then allocates). In steady
// state neither Get nor Retire allocates, and Get executes no atomic
// instruction.
//
// Pool objects count in the Domain's Stats like other retired objects, and
// Barrier and Close treat them alike. A Pool is safe for concurrent use.
// The zero value is not usable; call NewPool.
type Pool[T any] struct {
	d         *Domain
	local     perp.Shards[freeList[T]]
	full      sync.Pool   // *freeList[T] holding objects, moving between processors
	empty     sync.Pool   // *freeList[T] holding none
	recycle   func(*T)    // p.put, bound once so that Retire does not allocate
	bin       *retire.Bin // put and putAll, for Retire without OnReclaim
	onReclaim func(*T)
}

// freeList is a stack of reclaimed, zeroed objects.
type freeList[T any] struct{ objs []*T }

const freeListSize = 64

// PoolOption configures a Pool.
type PoolOption[T any] func(*Pool[T])

// OnReclaim sets a function that runs on each object once no hazard
// pointer protects it, before the object is zeroed and becomes available to
// Get: to release what the object holds, or, in tests, to check and poison
// it so that a late reader is caught (the stress package's Ledger and
// Canary). It sees the object as it was when retired. It runs as the
// object's free function: on whichever goroutine reclaims it (a Retire,
// Flush, Barrier, Close, or the aging timer), and every access made through
// a hazard pointer that protected the object is synchronized before it. If
// it panics, the panic propagates as a free function's does and the object
// is dropped (left to the garbage collector), not recycled.
func OnReclaim[T any](fn func(*T)) PoolOption[T] {
	return func(p *Pool[T]) { p.onReclaim = fn }
}

// NewPool returns a Pool of T on d.
func NewPool[T any](d *Domain, opts ...PoolOption[T]) *Pool[T] {
	if d == nil {
		panic("hazard: NewPool with a nil Domain (use hazard.Default() for the shared one)")
	}
	d.mustBeMade("NewPool")
	p := &Pool[T]{d: d, local: perp.New[freeList[T]]()}
	for _, o := range opts {
		o(p)
	}
	p.recycle = p.put
	if p.onReclaim == nil {
		p.bin = retire.NewBin(func(x unsafe.Pointer) { p.put((*T)(x)) }, p.putAll)
	}
	return p
}

// Get returns a zeroed object, as new(T) would: a recycled one that no
// hazard pointer protects, or a new one. The object is the caller's until
// it publishes it. For a recycled object, every access made to it in its
// previous life (through any hazard pointer that protected it, and by its
// OnReclaim) is synchronized before Get returns it.
func (p *Pool[T]) Get() *T {
	local := &p.local // a nil p faults here, not pinned below, where the panic would be fatal
	l := local.Pin(pin.Pin())
	if l != nil && len(l.objs) > 0 {
		x := l.pop()
		p.local.Unpin(l)
		return x
	}
	p.local.Unpin(l)
	return p.getSlow()
}

// getSlow installs a full list from another processor, or allocates.
func (p *Pool[T]) getSlow() *T {
	p.checkMade("Get")
	f, _ := p.full.Get().(*freeList[T])
	if f == nil {
		return new(T)
	}
	x := f.pop()
	l := p.local.Pin(pin.Pin())
	if l != nil && len(l.objs) == 0 {
		f.objs, l.objs = l.objs, f.objs // l takes the rest, f the empty list
	}
	p.local.Unpin(l)
	p.putList(f)
	return x
}

// Retire retires x through the Pool's Domain: once no hazard pointer
// protects x it is zeroed and kept for Get. The caller must have unlinked
// x. Retire panics as the package's Retire does: if x is nil or the Domain
// is closed. Retiring an object twice is not detected: two later Gets may
// return it, and two owners corrupt the structure.
func (p *Pool[T]) Retire(x *T) {
	if p.bin == nil {
		p.checkMade("Retire")
		Retire(p.d, x, p.recycle)
		return
	}
	mustRetire(x)
	p.d.retire(retire.Binned(x, p.bin))
}

// checkMade panics on a zero Pool, which has no Domain.
func (p *Pool[T]) checkMade(op string) {
	if p.d == nil {
		panic("hazard: Pool." + op + " on a zero Pool: make Pools with NewPool")
	}
}

// Domain returns the Domain p retires through.
func (p *Pool[T]) Domain() *Domain { return p.d }

// put is the free function: it runs OnReclaim, then keeps x, zeroed, on the
// processor's free list, or moves a full list out to make room.
func (p *Pool[T]) put(x *T) {
	if p.onReclaim != nil {
		p.onReclaim(x)
	}
	var zero T
	*x = zero
	l := p.local.Pin(pin.Pin())
	if l != nil && len(l.objs) < cap(l.objs) {
		l.objs = append(l.objs, x) // within capacity: no allocation while pinned
		p.local.Unpin(l)
		return
	}
	p.local.Unpin(l)
	f, _ := p.empty.Get().(*freeList[T])
	if f == nil {
		f = &freeList[T]{objs: make([]*T, 0, freeListSize)}
	}
	f.push(x)
	l = p.local.Pin(pin.Pin())
	if l != nil && len(l.objs) == cap(l.objs) {
		f.objs, l.objs = l.objs, f.objs // l keeps x, f takes the full (or nil) list
	}
	p.local.Unpin(l)
	p.putList(f)
}

// putAll is put for a run of entries, with no OnReclaim: it zeroes them
// and fills the processor's free list with one pin, and puts the rest one
// by one once the list is full.
func (p *Pool[T]) putAll(es []retire.Entry) {
	var zero T
	for len(es) > 0 {
		n := 0
		l := p.local.Pin(pin.Pin())
		if l != nil {
			n = min(len(es), cap(l.objs)-len(l.objs))
			for _, e := range es[:n] {
				x := (*T)(e.Addr())
				*x = zero
				l.objs = append(l.objs, x) // within capacity: no allocation while pinned
			}
		}
		p.local.Unpin(l)
		if es = es[n:]; len(es) > 0 {
			p.put((*T)(es[0].Addr())) // moves the full list out
			es = es[1:]
		}
	}
}

// putList shares f with other processors.
func (p *Pool[T]) putList(f *freeList[T]) {
	if len(f.objs) > 0 {
		p.full.Put(f)
	} else {
		p.empty.Put(f)
	}
}

// push adds x, allocating the list on first use: never call it pinned.
func (f *freeList[T]) push(x *T) {
	if f.objs == nil {
		f.objs = make([]*T, 0, freeListSize)
	}
	f.objs = append(f.objs, x)
}

func (f *freeList[T]) pop() *T {
	n := len(f.objs) - 1
	x := f.objs[n]
	f.objs[n] = nil
	f.objs = f.objs[:n]
	return x
}
