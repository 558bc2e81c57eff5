package hazard

import (
	"runtime"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/go-reclaim/reclaim/internal/cacheline"
	"github.com/go-reclaim/reclaim/internal/pin"
	"github.com/go-reclaim/reclaim/internal/registry"
	"github.com/go-reclaim/reclaim/internal/release"
	"github.com/go-reclaim/reclaim/internal/retire"
)

// Domain owns hazard slots and the objects retired through it. Objects
// retired through a Domain are reclaimed once no slot of that Domain
// protects them. All methods are safe for concurrent use. The zero value is
// not usable; call New.
type Domain struct {
	slots  *registry.Registry[hazardSlot]
	shards []shard // per P: open batches of retired objects

	sealed sealedLists // full batches waiting for a scan
	// pending counts the objects in sealed batches, including those a scan
	// has taken and not yet reclaimed or put back.
	pending   atomic.Int64
	seq       atomic.Uint64 // tags sealed batches, for Barrier
	sealing   atomic.Int32  // full batches taken from a shard, not yet sealed
	barrierMu sync.Mutex    // one Barrier or Close at a time
	_         cacheline.Pad

	retired   atomic.Uint64
	reclaimed atomic.Uint64
	peak      atomic.Int64
	// state is closedBit once Close has begun, plus drainUnit for each
	// Close that is running free functions (which may Retire).
	state atomic.Uint64

	threshold int
	perSlot   int
	spare     sync.Pool // empty *retire.Batch
	scratch   sync.Pool // *[]uintptr, hazard snapshots for scans
}

// hazardSlot is one hazard pointer: the address it protects, or 0.
type hazardSlot struct {
	addr atomic.Uintptr
}

type slot = registry.Slot[hazardSlot]

// shard is one processor's open batch, behind a lock that only Barrier and
// Close ever contend for: a goroutine takes its own P's shard while pinned.
type shard struct {
	lock atomic.Uintptr
	bag  *retire.Batch
	_    cacheline.Pad
}

// New returns a Domain.
func New(opts ...Option) *Domain {
	cfg := config{threshold: DefaultThreshold, perSlot: DefaultPerSlot}
	for _, o := range opts {
		o(&cfg)
	}
	return &Domain{
		slots:     registry.New[hazardSlot](),
		shards:    make([]shard, runtime.GOMAXPROCS(0)),
		threshold: cfg.threshold,
		perSlot:   cfg.perSlot,
	}
}

// Threshold is the number of pending objects at which a Retire scans the
// hazard slots: max(WithThreshold, WithThresholdPerSlot × slots).
func (d *Domain) Threshold() int {
	return max(d.threshold, d.perSlot*d.slots.Len())
}

// Retire hands p to d: free(p) runs once no hazard pointer of d protects p.
// The caller must already have unlinked p, so that a Protect that starts
// from now on cannot return it.
//
// Memory order: every write made before Retire, and every access made
// through a hazard pointer that protected p until its Reset, Release or
// re-protection, is synchronized before free(p) runs. free runs exactly
// once, on a goroutine that calls Retire, Barrier or Close; it may itself
// Retire.
//
// Retire does not allocate in steady state. It panics if p or free is nil
// or if d is closed.
func Retire[T any](d *Domain, p *T, free func(*T)) {
	if p == nil {
		panic("hazard: Retire of a nil pointer")
	}
	if free == nil {
		panic("hazard: Retire with a nil free function")
	}
	d.retire(retire.Of(p, free))
}

const (
	closedBit = 1
	drainUnit = 2
)

func (d *Domain) checkOpen(op string) {
	if d.state.Load() == closedBit {
		panic("hazard: " + op + " on a closed Domain")
	}
}

func (d *Domain) retire(e retire.Entry) {
	d.checkOpen("Retire")
	var fresh *retire.Batch // taken unpinned: sync.Pool may park the goroutine
	for {
		pid := pin.Pin()
		sh := &d.shards[pid%len(d.shards)]
		if !sh.lock.CompareAndSwap(0, 1) {
			// A Barrier or Close is flushing this shard; it is not pinned,
			// so wait for it unpinned.
			pin.Unpin()
			runtime.Gosched()
			continue
		}
		b := sh.bag
		if b == nil {
			if fresh == nil {
				release.StoreUintptr(&sh.lock, 0)
				pin.Unpin()
				fresh = d.newBatch()
				continue
			}
			b, fresh = fresh, nil
			sh.bag = b
		}
		b.Entries = append(b.Entries, e)
		if len(b.Entries) < batchSize {
			b = nil
		} else {
			sh.bag = nil
			d.sealing.Add(1) // before the unlock, so a Barrier's flush waits for it
		}
		release.StoreUintptr(&sh.lock, 0)
		pin.Unpin()
		if fresh != nil {
			d.spare.Put(fresh)
		}
		if b != nil {
			p := d.push(b)
			d.sealing.Add(-1) // before the scan, whose free functions may panic
			d.maybeScan(p)
		}
		return
	}
}

func (d *Domain) newBatch() *retire.Batch {
	if b, _ := d.spare.Get().(*retire.Batch); b != nil {
		return b
	}
	return &retire.Batch{Entries: make([]retire.Entry, 0, batchSize)}
}

// seal hands a full batch to the domain and scans once enough objects are
// pending.
func (d *Domain) seal(b *retire.Batch) { d.maybeScan(d.push(b)) }

// push tags b, puts it on the sealed list and returns the new pending count.
func (d *Domain) push(b *retire.Batch) int64 {
	n := int64(len(b.Entries))
	d.retired.Add(uint64(n))
	b.Epoch = d.seq.Add(1)
	d.sealed.push(b)
	p := d.pending.Add(n)
	for old := d.peak.Load(); p > old && !d.peak.CompareAndSwap(old, p); old = d.peak.Load() {
	}
	return p
}

func (d *Domain) maybeScan(pending int64) {
	if pending >= int64(d.Threshold()) {
		d.scan()
	}
}

// flushShards seals every shard's open batch, and waits for the full
// batches that Retire has taken from a shard to be sealed.
func (d *Domain) flushShards() {
	for i := range d.shards {
		sh := &d.shards[i]
		for !sh.lock.CompareAndSwap(0, 1) {
			runtime.Gosched()
		}
		b := sh.bag
		sh.bag = nil
		sh.lock.Store(0)
		if b != nil && len(b.Entries) > 0 {
			d.seal(b)
		}
	}
	for d.sealing.Load() != 0 {
		runtime.Gosched()
	}
}

// scan takes every sealed batch, reclaims what no hazard pointer protects,
// and puts the rest back. Scans may run concurrently on disjoint lists; a
// free function may itself Retire and so start a nested scan.
//
// Correctness: an object in the list was unlinked before its Retire, which
// happened before this scan's loads of the hazard slots. A reader that
// protects it publishes the address with a sequentially consistent store
// and then re-reads the source; if the re-read comes after the unlink it
// fails and the reader retries; if it came before, the publication also
// came before our load of that slot, and we see it.
func (d *Domain) scan() {
	l := d.sealed.enter()
	defer l.leave() // also when a free function panics
	kept := d.sweep(l.TakeAll())
	kept.PushTo(&l.Stack)
}

// sweep reclaims the objects of list that no hazard pointer protects and
// returns the rest.
func (d *Domain) sweep(list *retire.Batch) retire.List {
	if list == nil {
		return retire.List{}
	}
	sw := sweeper{d: d, hazards: d.snapshot()}
	defer d.scratch.Put(sw.hazards)
	return retire.Sweep(list, &sw)
}

// snapshot returns the sorted addresses currently protected.
func (d *Domain) snapshot() *[]uintptr {
	h, _ := d.scratch.Get().(*[]uintptr)
	if h == nil {
		h = new([]uintptr)
	}
	hs := (*h)[:0]
	for s := range d.slots.All() {
		if a := s.Value.addr.Load(); a != 0 {
			hs = append(hs, a)
		}
	}
	slices.Sort(hs)
	*h = hs
	return h
}

// sweeper is the Domain's side of retire.Sweep: entries whose address is
// in the hazard snapshot stay pending.
type sweeper struct {
	d       *Domain
	hazards *[]uintptr
}

func (s *sweeper) KeepBatch(*retire.Batch) bool { return false }

func (s *sweeper) KeepEntry(e retire.Entry) bool {
	_, found := slices.BinarySearch(*s.hazards, uintptr(e.Addr()))
	return found
}

func (s *sweeper) Recycle(b *retire.Batch) { b.Reset(); s.d.spare.Put(b) }

func (s *sweeper) Reclaimed(n int) {
	s.d.reclaimed.Add(uint64(n))
	s.d.pending.Add(-int64(n))
}

func (s *sweeper) Requeue(kept retire.List) { s.d.sealed.pushList(kept) }
