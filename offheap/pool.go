package offheap

import (
	"context"
	"errors"
	"fmt"
	"math"
	"runtime"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/go-reclaim/reclaim/epoch"
	"github.com/go-reclaim/reclaim/internal/cacheline"
	"github.com/go-reclaim/reclaim/internal/pin"
)

// slotMeta is a slot's bookkeeping, the header of the slot in the mapped
// block, just before its value: reading the value after the header costs
// no second cache miss, and nothing per slot lives on the Go heap.
// epoch.Retire keeps a pointer to it until the grace period ends; the
// reclaim that follows touches it only while the block is mapped (Close
// unmaps after a grace period, and reclaim checks).
type slotMeta struct {
	gen  atomic.Uint32 // odd: live; even: free, pending, or never used (0)
	next uint32        // free-list link (index+1, 0 = end); guarded by pool.mu
}

// headerSize is the room slotMeta takes before each value: 8 bytes, so
// that values stay 8-byte aligned.
const headerSize = 8

// genLimit: a slot whose generation reaches it after a Free is never reused,
// so generations never wrap and an old handle can never match again.
const genLimit = math.MaxUint32 - 1

// pool is the untyped machinery under Slab: fixed-size slots in one mapped
// block, generation-checked handles, a free list fed by epoch reclamation.
type pool struct {
	c         *epoch.Collector
	elemSize  uintptr // the value's size
	stride    uintptr // header and value, rounded up to 8 bytes
	capacity  uint32
	mem       []byte         // the mapped block
	base      unsafe.Pointer // &mem[0]
	reclaimFn func(*slotMeta)
	onReclaim func() // called when a freed slot's grace period ends (Arena's budget)
	checked   bool
	closed    atomic.Bool
	// Above: read by every Get and Peek. Below: written by every Alloc,
	// Free and reclaim, on cache lines of their own, so that updates do
	// not slow the readers down.
	_       cacheline.Pad
	live    atomic.Int64
	pending atomic.Int64
	_       cacheline.Pad

	// caches hold a few free slots per P, so that Alloc and the reclaim of
	// a freed slot take no shared lock in the common case (not in checked
	// mode, whose bookkeeping is under mu, nor for small slabs).
	caches   []freeCache
	cacheCap int // slots one cache holds at most

	mu       sync.Mutex
	freeHead uint32 // index+1 of the first free slot, 0 = none
	hw       uint32 // slots [0, hw) have been handed out at least once
	unmapped bool
	closing  bool
	dead     int // slots never reused again (generation limit or corrupted)
	dbg      map[uint32]*slotDebug
}

// freeCache is one P's free slots, reused last in, first out. Its lock is
// taken by the goroutine running on that P for a few instructions (never
// waited for: a goroutine that finds it taken uses the shared free list),
// by an Alloc that would fail with ErrFull, to take the slots back, and by
// Close, which holds every cache's lock from then on, so that no Alloc
// still works in the block when it is unmapped.
type freeCache struct {
	lock atomic.Uint32
	n    int
	idx  [freeCacheSize]uint32
	_    cacheline.Pad
}

const freeCacheSize = 64

// testHookCachedAlloc, if set by a test, runs in Alloc while it holds a
// cache's lock, before it hands out the slot it took from the cache.
var testHookCachedAlloc func()

// cache returns the current P's cache, locked, or nil.
func (p *pool) cache() *freeCache {
	if len(p.caches) == 0 {
		return nil
	}
	id := pin.Pin()
	pin.Unpin()
	c := &p.caches[uint(id)%uint(len(p.caches))]
	if !c.lock.CompareAndSwap(0, 1) {
		return nil
	}
	return c
}

// drainCaches moves every cached slot to the shared free list, waiting for
// each cache's lock, and keeps the locks if closing. The caller holds mu.
func (p *pool) drainCaches(closing bool) {
	for i := range p.caches {
		c := &p.caches[i]
		for !c.lock.CompareAndSwap(0, 1) {
			runtime.Gosched() // held for a few instructions
		}
		for ; c.n > 0; c.n-- {
			m := p.meta(c.idx[c.n-1])
			m.next = p.freeHead
			p.freeHead = c.idx[c.n-1] + 1
		}
		if !closing {
			c.lock.Store(0)
		}
	}
}

func (p *pool) init(c *epoch.Collector, elemSize uintptr, capacity int, opts []Option) error {
	var cfg config
	for _, o := range opts {
		o(&cfg)
	}
	if c == nil {
		c = epoch.Default()
	}
	if capacity <= 0 || uint64(capacity) > math.MaxUint32 {
		return fmt.Errorf("%w: capacity %d (want 1 to %d)", ErrSize, capacity, uint32(math.MaxUint32))
	}
	if elemSize == 0 {
		return fmt.Errorf("%w: zero-size element type", ErrSize)
	}
	stride := headerSize + (elemSize+7)&^7
	if elemSize > math.MaxInt32 || uint64(capacity) > uint64(math.MaxInt)/uint64(stride) {
		return fmt.Errorf("%w: capacity %d of %d-byte elements overflows the address space", ErrSize, capacity, elemSize)
	}
	mem, err := mapMemory(capacity * int(stride))
	if err != nil {
		return fmt.Errorf("%w: reserving %d bytes of address space: %w", ErrSize, capacity*int(stride), err)
	}
	p.c = c
	p.elemSize, p.stride = elemSize, stride
	p.capacity = uint32(capacity)
	p.mem = mem
	p.base = unsafe.Pointer(unsafe.SliceData(mem))
	p.reclaimFn = p.reclaim
	p.checked = cfg.checked
	if p.checked {
		p.dbg = make(map[uint32]*slotDebug)
	} else if per := capacity / (4 * runtime.GOMAXPROCS(0)); per >= 8 {
		// Small slabs have no caches: slots parked on other Ps would be
		// missed (until an Alloc that would fail takes them back).
		p.caches = make([]freeCache, runtime.GOMAXPROCS(0))
		p.cacheCap = min(per, freeCacheSize)
	}
	return nil
}

func (p *pool) slot(i uint32) unsafe.Pointer {
	return unsafe.Add(p.base, uintptr(i)*p.stride+headerSize)
}

// slotBytes is slot i's value and the padding after it, up to the next
// header: what Alloc zeroes and checked mode poisons and verifies.
func (p *pool) slotBytes(i uint32) []byte {
	return unsafe.Slice((*byte)(p.slot(i)), p.stride-headerSize)
}

// meta returns slot i's header, or nil if i is beyond the capacity. A slot
// never handed out has generation 0.
func (p *pool) meta(i uint32) *slotMeta {
	if i >= p.capacity {
		return nil
	}
	return (*slotMeta)(unsafe.Add(p.base, uintptr(i)*p.stride))
}

// index is the slot whose header m is.
func (p *pool) index(m *slotMeta) uint32 {
	return uint32((uintptr(unsafe.Pointer(m)) - uintptr(p.base)) / p.stride)
}

func (p *pool) checkGuard(op string, g *epoch.Guard) {
	if g == nil {
		panic("offheap: " + op + " with a nil guard")
	}
	if g.Collector() != p.c {
		p.mustBeMade(op)
		panic("offheap: " + op + " with a guard of another collector than the slab's")
	}
	if !g.Open() {
		panic("offheap: " + op + " with a guard that has exited")
	}
}

// mustBeMade panics, naming op, if p is a zero Slab's (not made by
// NewSlab). Callers test it only where a zero Slab would otherwise fail
// with a misleading message.
func (p *pool) mustBeMade(op string) {
	if p.c == nil {
		panic("offheap: " + op + " on a zero Slab: make Slabs with NewSlab")
	}
}

func closedErr(op string) error { return fmt.Errorf("%w: %s", ErrClosed, op) }

func (p *pool) alloc() (Handle, unsafe.Pointer, error) {
	if p.closed.Load() {
		return 0, nil, closedErr("Alloc")
	}
	if c := p.cache(); c != nil {
		if c.n > 0 {
			c.n--
			if testHookCachedAlloc != nil {
				testHookCachedAlloc()
			}
			h, ptr, err := p.issue(c.idx[c.n]) // under the lock: Close waits for it
			c.lock.Store(0)
			return h, ptr, err
		}
		c.lock.Store(0)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closing || p.unmapped {
		return 0, nil, closedErr("Alloc")
	}
	var m *slotMeta
	reused := false
	if p.freeHead == 0 && p.hw == p.capacity {
		p.drainCaches(false) // slots parked on other Ps
	}
	if p.freeHead != 0 {
		m = p.meta(p.freeHead - 1)
		if next, gen := m.next, m.gen.Load(); next > p.hw || gen&1 == 1 {
			// The header of a free slot was overwritten (an overrun of the
			// slot before it): drop the rest of the list rather than follow
			// a wild link.
			p.freeHead = 0
			p.dead++
			return 0, nil, &MisuseError{Err: ErrCorrupted, Op: "Alloc", Handle: makeHandle(p.index(m), gen),
				Detail: fmt.Sprintf("the header of a free slot was overwritten (link %d, generation %d); the free list is dropped", next, gen)}
		}
		p.freeHead = m.next
		m.next = 0
		reused = true
	} else if p.hw < p.capacity {
		m = p.meta(p.hw)
		p.hw++
	} else {
		p.mustBeMade("Alloc")
		return 0, nil, fmt.Errorf("%w: all %d slots of %d bytes are allocated, waiting for their grace period or retired for good (%d)",
			ErrFull, p.capacity, p.elemSize, p.dead)
	}
	i := p.index(m)
	if reused && p.checked {
		if err := p.verifyPoison(m, p.slotBytes(i)); err != nil {
			p.dead++ // quarantine the slot: its memory is suspect
			return 0, nil, err
		}
	}
	if p.checked {
		h, ptr, err := p.issue(i)
		p.recordAlloc(i, h.Generation())
		return h, ptr, err
	}
	return p.issue(i)
}

// issue hands out free slot i: zeroed, its generation made odd (live).
func (p *pool) issue(i uint32) (Handle, unsafe.Pointer, error) {
	clear(p.slotBytes(i))
	gen := p.meta(i).gen.Add(1)
	p.live.Add(1)
	return makeHandle(i, gen), p.slot(i), nil
}

// stale builds the error for a handle that does not name a live slot.
func (p *pool) stale(op string, h Handle, cur uint32, m *slotMeta) error {
	gen := h.Generation()
	e := &MisuseError{Err: ErrStale, Op: op, Handle: h}
	switch {
	case m == nil || gen&1 == 0 || gen > cur:
		e.Detail = "forged handle: never issued by this slab"
	default:
		e.Detail = fmt.Sprintf("use after free: the slot is at generation %d", cur)
		if p.checked {
			p.describe(e, p.index(m), gen)
		}
	}
	return e
}

func (p *pool) get(g *epoch.Guard, h Handle) (unsafe.Pointer, error) {
	p.checkGuard("Get", g)
	if p.closed.Load() {
		return nil, closedErr("Get")
	}
	m := p.meta(h.Index())
	if m == nil {
		return nil, p.stale("Get", h, 0, nil)
	}
	if cur := m.gen.Load(); cur != h.Generation() || cur&1 == 0 {
		return nil, p.stale("Get", h, cur, m)
	}
	return p.slot(h.Index()), nil
}

func (p *pool) free(g *epoch.Guard, h Handle) error {
	p.checkGuard("Free", g)
	if p.closed.Load() {
		return closedErr("Free")
	}
	gen := h.Generation()
	m := p.meta(h.Index())
	if m == nil || gen&1 == 0 {
		return p.stale("Free", h, 0, nil)
	}
	var freed bool
	if p.checked {
		freed = p.freeGenChecked(m, gen)
	} else {
		freed = m.gen.CompareAndSwap(gen, gen+1) // inline: no call on the common path
	}
	if !freed {
		cur := m.gen.Load()
		if gen > cur {
			return p.stale("Free", h, cur, m)
		}
		e := &MisuseError{Err: ErrDoubleFree, Op: "Free", Handle: h,
			Detail: fmt.Sprintf("already freed; the slot is at generation %d", cur)}
		if p.checked {
			p.describe(e, p.index(m), gen)
		}
		return e
	}
	p.live.Add(-1)
	p.pending.Add(1)
	// The slot returns to the free list only after every guard that could
	// have resolved h has exited.
	epoch.Retire(g, m, p.reclaimFn)
	return nil
}

// reclaim runs after the grace period of a freed slot. The slot stops
// counting as pending, and gives its budget back, only once it is on a
// free list, so that an Alloc that finds it neither pending nor free
// cannot fail with ErrFull.
func (p *pool) reclaim(m *slotMeta) {
	p.putBack(m)
	p.pending.Add(-1)
	if p.onReclaim != nil {
		p.onReclaim()
	}
}

// putBack puts a reclaimed slot on its processor's cache or the free list
// (or retires it for good at the generation limit, or drops it once the
// pool is closing).
func (p *pool) putBack(m *slotMeta) {
	// Close unmaps only after a grace period, and sweeps finish first, so
	// an open slab's header is mapped here.
	if !p.closed.Load() && m.gen.Load() < genLimit {
		if c := p.cache(); c != nil {
			if c.n < p.cacheCap {
				c.idx[c.n] = p.index(m)
				c.n++
				c.lock.Store(0)
				return
			}
			c.lock.Store(0)
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.unmapped || p.closing {
		return
	}
	if p.checked {
		b := p.slotBytes(p.index(m))
		for i := range b {
			b[i] = PoisonByte
		}
	}
	if m.gen.Load() >= genLimit {
		p.dead++
		return
	}
	m.next = p.freeHead
	p.freeHead = p.index(m) + 1
}

func (p *pool) close(ctx context.Context) error {
	if ctx == nil {
		panic("offheap: CloseContext with a nil context")
	}
	p.mustBeMade("Close")
	p.mu.Lock()
	if p.unmapped {
		p.mu.Unlock()
		return closedErr("Close")
	}
	p.mu.Unlock()
	p.closed.Store(true)
	// Wait one grace period: every guard that may have resolved a handle
	// before closed was set exits before the block is unmapped. Guards
	// entered later see closed and get ErrClosed.
	g := p.c.Enter()
	g.Defer(func() {})
	g.Exit()
	if err := p.c.Barrier(ctx); err != nil {
		return fmt.Errorf("offheap: Close: waiting for open guards: %w", err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.unmapped {
		return closedErr("Close")
	}
	var leaks error
	if p.checked {
		leaks = p.leaks()
	}
	p.closing = true
	p.drainCaches(true) // waits for Allocs working in the block, and bars new ones
	err := unmapMemory(p.mem)
	p.unmapped = true
	p.mem = nil // base stays: a late access hits the old range (which faults unless mapped again), not address 0
	if err != nil {
		err = fmt.Errorf("offheap: Close: unmapping: %w", err)
	}
	return errors.Join(err, leaks)
}

// Stats is a snapshot of a slab's occupancy.
type Stats struct {
	Capacity int   // the maximum number of slots
	Live     int64 // allocated and not freed
	Pending  int64 // freed, waiting for their grace period
	Touched  int   // slots handed out at least once (their pages are committed)
	Dead     int   // slots retired for good (generation exhausted, or corrupted in checked mode)
	Bytes    int   // bytes reserved from the OS (Capacity times the slot: an 8-byte header and the value, rounded up to 8 bytes)
}

func (p *pool) stats() Stats {
	p.mu.Lock()
	defer p.mu.Unlock()
	return Stats{
		Capacity: int(p.capacity),
		Live:     p.live.Load(),
		Pending:  p.pending.Load(),
		Touched:  int(p.hw),
		Dead:     p.dead,
		Bytes:    int(p.capacity) * int(p.stride),
	}
}
