package offheapmap

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"sync"
	"sync/atomic"

	"github.com/go-reclaim/reclaim/epoch"
	"github.com/go-reclaim/reclaim/internal/cacheline"
	"github.com/go-reclaim/reclaim/offheap"
)

// Map is a concurrent hash map whose entries and table live in memory the
// garbage collector never scans. Its zero value is not usable: call New.
// All methods are safe for concurrent use.
type Map[K comparable, V any] struct {
	c       *epoch.Collector
	entries *offheap.Slab[entry[K, V]]
	seed    maphash.Seed
	table   atomic.Pointer[table]
	stripes []stripe
	closed  atomic.Bool
	// Above: read by every Load. Below: written by writers, on cache
	// lines of their own.
	_      cacheline.Pad
	live   atomic.Int64
	grows  atomic.Uint64
	growMu sync.Mutex // one grow at a time
	_      cacheline.Pad
}

type entry[K, V any] struct {
	key K
	val V
}

// stripe is one of the locks that serialize writers: a key's writers
// always take the same stripe, whatever the table's size, and a grow takes
// them all.
type stripe struct {
	sync.Mutex
	_ [cacheline.Size - 8]byte
}

const (
	numStripes    = 256
	initialBucket = 8
)

// New returns an empty map reclaimed through c (epoch.Default() if nil)
// that holds at most maxEntries entries at once, counting replaced and
// deleted ones still in their grace period: give it headroom over the
// live entries you expect, for every entry replaced or deleted while the
// longest guard is open and its batch waits for a grace period (thousands
// per writing goroutine at the collector's default batch size, more where
// goroutines outnumber processors and are descheduled inside guards; a
// replacing Store needs a free entry too). When Store fails with
// offheap.ErrFull, a Barrier of the collector called outside any guard
// waits those grace periods out. The whole maxEntries is reserved as
// address space and committed as entries are first used; the table starts
// small and grows as entries are added.
//
// New fails with offheap.ErrPointers if K or V contains Go pointers, and
// with offheap.ErrSize if maxEntries is not between 1 and 2^32-1 or does
// not fit the address space. opts are the entry slab's (offheap.WithChecks
// for the checked mode).
func New[K comparable, V any](c *epoch.Collector, maxEntries int, opts ...offheap.Option) (*Map[K, V], error) {
	if c == nil {
		c = epoch.Default()
	}
	entries, err := offheap.NewSlab[entry[K, V]](c, maxEntries, opts...)
	if err != nil {
		return nil, err
	}
	t, err := newTable(initialBucket)
	if err != nil {
		return nil, errors.Join(err, entries.Close())
	}
	m := &Map[K, V]{c: c, entries: entries, seed: maphash.MakeSeed(), stripes: make([]stripe, numStripes)}
	m.table.Store(t)
	return m, nil
}

func (m *Map[K, V]) hash(key K) uint64 { return maphash.Comparable(m.seed, key) }

func (m *Map[K, V]) stripe(h uint64) *stripe { return &m.stripes[(h>>40)%numStripes] }

// Load returns the value of key, in place: the pointer stays valid until
// g exits, even if the key is replaced or deleted meanwhile (the entry's
// memory is reused only after g's grace period). The value must not be
// written through it. Load is lock-free and does not allocate.
//
// A Load that returns a value is synchronized after the Store that stored
// it. Load panics if g is nil or belongs to another collector, and if the
// map is closed.
func (m *Map[K, V]) Load(g *epoch.Guard, key K) (*V, bool) {
	if m.closed.Load() {
		panic("offheapmap: Load after Close")
	}
	m.checkGuard("Load", g)
	e, _, _, _ := m.find(m.table.Load(), m.hash(key), key)
	if e == nil {
		return nil, false
	}
	return &e.val, true
}

// testHookFind, if set by a test, runs in find between the load of a
// bucket's meta word and that of a matching slot's handle; testHookInsert
// in insert between the store of the handle and the tag's publication.
var testHookFind, testHookInsert func()

// testHookGrow, if set by a test, runs in grow before it takes the stripes.
var testHookGrow func()

// find returns key's entry in t with its bucket, slot and handle, or a nil
// entry. It resolves handles with Peek, unchecked, which is safe under
// the caller's guard because every handle it reads was linked when the
// guard could see it:
//
//   - t was the table when the caller loaded it, after its guard began; a
//     grow freezes t, and the entries t links at that moment are freed, if
//     ever, by later writes to the new table, so after the guard began;
//   - an entry unlinked from t while it was the table (replaced, or
//     deleted: its tag then marks the slot deleted, but the slot keeps the
//     handle) is freed after the write that unlinked it, which came after
//     find read the link (the slot, or the meta word with the live tag).
//
// So the slot is not reused before the guard exits. A matching entry is
// accepted only if the slot still holds the tag after the entry was read:
// then the handle was published (an insert writes the handle while the
// slot is busy, and publishes the tag after), and was linked at some
// moment of the call. A Load returns the key's value at that moment (for
// a frozen t, at most the moment of the grow, after the Load began), or
// its absence at the moment find read the bucket with an empty slot,
// which makes it linearizable.
func (m *Map[K, V]) find(t *table, h uint64, key K) (*entry[K, V], *bucket, int, offheap.Handle) {
	tag := tagOf(h)
	for i := h & t.mask; ; i = (i + 1) & t.mask {
		b := &t.buckets[i]
		meta := b.meta.Load()
	rescan:
		for marks := matching(meta, tag); marks != 0; marks &= marks - 1 {
			j := slotOf(marks)
			if testHookFind != nil {
				testHookFind()
			}
			hd := offheap.Handle(b.slots[j].Load())
			if e := m.entries.Peek(hd); e.key == key {
				// The slot may have been deleted and claimed again
				// (busy) since meta was read, and hd be an insert's
				// handle not yet published: accept it only if the slot
				// is live with this tag now.
				if again := b.meta.Load(); tagAt(again, j) != tag {
					meta = again
					goto rescan
				}
				return e, b, j, hd
			}
		}
		if zeroBytes(meta) != 0 {
			return nil, nil, 0, 0
		}
	}
}

// Store sets key's value to val, replacing the entry of a present key
// (copy on write: readers that loaded the old value keep it until their
// guards exit) and reports whether it did. Store is synchronized before
// every Load that returns its value.
//
// Store fails with an error wrapping offheap.ErrFull when maxEntries
// entries are live or waiting for their grace period, with
// offheap.ErrClosed after Close, and with the operating system's error if
// the table must grow and a larger one cannot be mapped; the map is
// unchanged then. It panics if g is nil or belongs to another collector.
func (m *Map[K, V]) Store(g *epoch.Guard, key K, val V) (replaced bool, err error) {
	m.checkGuard("Store", g)
	if m.closed.Load() { // before Alloc: Close waits only for guards open when it began
		return false, fmt.Errorf("offheapmap: Store: %w", offheap.ErrClosed)
	}
	hd, e, err := m.entries.Alloc()
	if err != nil {
		return false, fmt.Errorf("offheapmap: Store: %w", err)
	}
	e.key, e.val = key, val
	h := m.hash(key)
	s := m.stripe(h)
	for {
		s.Lock()
		if m.closed.Load() {
			s.Unlock()
			m.free(g, hd) // Close waits for g before it closes the slab
			return false, fmt.Errorf("offheapmap: Store: %w", offheap.ErrClosed)
		}
		t := m.table.Load() // stable while a stripe is held
		if old, b, j, ohd := m.find(t, h, key); old != nil {
			b.slots[j].Store(uint64(hd))
			s.Unlock()
			m.free(g, ohd)
			return true, nil
		}
		if !t.reserve() {
			// The table is at its hard limit (writers of other stripes
			// inserted since the last grow began): grow first.
			s.Unlock()
			if err := m.grow(g, t); err != nil {
				m.free(g, hd)
				return false, fmt.Errorf("offheapmap: Store: %w", err)
			}
			continue
		}
		m.insert(t, h, hd)
		m.live.Add(1)
		grow := t.full()
		s.Unlock()
		if grow {
			_ = m.grow(g, t) // on failure the table still has room below its hard limit
		}
		return false, nil
	}
}

// insert puts handle hd of a key absent from t at the first free slot of
// its probe sequence. The caller has reserved an empty slot (reserve), so
// that one is free somewhere; if the slot taken was a tombstone, the
// reservation is given back.
func (m *Map[K, V]) insert(t *table, h uint64, hd offheap.Handle) {
	for i := h & t.mask; ; i = (i + 1) & t.mask {
		b := &t.buckets[i]
		j, wasEmpty := b.claim()
		if j < 0 {
			continue
		}
		b.slots[j].Store(uint64(hd))
		if testHookInsert != nil {
			testHookInsert()
		}
		b.setTag(j, tagBusy, tagOf(h))
		if !wasEmpty {
			t.used.Add(-1)
		}
		return
	}
}

// checkGuard panics on a nil guard, a guard of another collector, or one
// that has exited, before the operation changes anything.
func (m *Map[K, V]) checkGuard(op string, g *epoch.Guard) {
	if g == nil || g.Collector() != m.c {
		if m.c == nil {
			panic("offheapmap: " + op + " on a zero Map: make it with New")
		}
		panic("offheapmap: " + op + " with a nil guard or a guard of another collector than the map's")
	}
	if !g.Open() {
		panic("offheapmap: " + op + " with a guard that has exited")
	}
}

// Delete removes key and reports whether it was present. Readers that
// loaded its value keep it until their guards exit. Delete panics if g is
// nil or belongs to another collector.
func (m *Map[K, V]) Delete(g *epoch.Guard, key K) bool {
	m.checkGuard("Delete", g)
	h := m.hash(key)
	s := m.stripe(h)
	s.Lock()
	if m.closed.Load() {
		s.Unlock()
		return false
	}
	t := m.table.Load()
	_, b, j, hd := m.find(t, h, key)
	if b != nil {
		if b.remove(j) {
			t.used.Add(-1)
		}
		m.live.Add(-1)
	}
	s.Unlock()
	if b != nil {
		m.free(g, hd)
	}
	return b != nil
}

// free retires an entry the map no longer links. Only the map frees its
// handles, each once, so an error is a bug of this package.
func (m *Map[K, V]) free(g *epoch.Guard, hd offheap.Handle) {
	if err := m.entries.Free(g, hd); err != nil {
		panic("offheapmap: internal error: " + err.Error())
	}
}

// Range calls f on every key present from the start of Range to its end,
// with a value it had meanwhile, and on some keys stored or deleted
// meanwhile, until f returns false. The value pointer is valid until g
// exits. f may call the map's methods. Range panics after Close, and if
// g is nil or belongs to another collector.
func (m *Map[K, V]) Range(g *epoch.Guard, f func(key K, val *V) bool) {
	if m.closed.Load() {
		panic("offheapmap: Range after Close")
	}
	m.checkGuard("Range", g)
	t := m.table.Load()
	for i := range t.buckets {
		b := &t.buckets[i]
		for j := range slotsPerBucket {
			// As in find: read the handle between two looks at the tag,
			// and take it only if the slot was live throughout.
			tag := tagAt(b.meta.Load(), j)
			if tag < firstLiveTag {
				continue
			}
			e := m.entries.Peek(offheap.Handle(b.slots[j].Load()))
			if tagAt(b.meta.Load(), j) != tag {
				continue // deleted meanwhile (or deleted and taken again)
			}
			if !f(e.key, &e.val) {
				return
			}
		}
	}
}

// Len returns the number of entries.
func (m *Map[K, V]) Len() int { return int(m.live.Load()) }

// Stats describes a map's memory.
type Stats struct {
	Len     int           // entries
	Buckets int           // buckets of the current table (seven slots each)
	Grows   uint64        // tables replaced by a larger (or cleaner) one
	Table   int           // bytes of the current table, off the heap
	Entries offheap.Stats // the entry slab's slots
}

// Stats returns a snapshot of the map's size and memory.
func (m *Map[K, V]) Stats() Stats {
	t := m.table.Load()
	return Stats{Len: m.Len(), Buckets: len(t.buckets), Grows: m.grows.Load(), Table: t.arr.Bytes(), Entries: m.entries.Stats()}
}

func (m *Map[K, V]) lockAll() {
	for i := range m.stripes {
		m.stripes[i].Lock()
	}
}

func (m *Map[K, V]) unlockAll() {
	for i := range m.stripes {
		m.stripes[i].Unlock()
	}
}

func (m *Map[K, V]) retireTable(g *epoch.Guard, t *table) {
	epoch.Retire(g, t, (*table).release)
}

// Close frees every entry, retires the table, waits for every guard of the
// collector open meanwhile to exit (operations that began before Close
// finish under their guards: a Delete or a replacing Store frees what it
// unlinked, a Store that finds the map closed frees its new entry), and
// closes the entry slab, which waits for a grace period of the collector
// and returns the memory to the operating system. From then on Store fails
// with ErrClosed, Delete reports false and Load panics. Close must not be
// called inside a guard of the map's collector on the same goroutine, and
// the map must be closed before its collector. A second Close returns an
// error wrapping offheap.ErrClosed.
func (m *Map[K, V]) Close() error {
	m.lockAll()
	if m.closed.Swap(true) {
		m.unlockAll()
		return fmt.Errorf("offheapmap: Close: %w", offheap.ErrClosed)
	}
	g := m.c.Enter()
	t := m.table.Load()
	for i := range t.buckets {
		b := &t.buckets[i]
		meta := b.meta.Load()
		for j := range slotsPerBucket {
			if tagAt(meta, j) >= firstLiveTag {
				m.free(g, offheap.Handle(b.slots[j].Load()))
			}
		}
	}
	m.live.Store(0)
	m.retireTable(g, t)
	g.Exit()
	m.unlockAll()
	// Operations that saw the map open hold guards entered before this
	// Barrier began, and free what they unlinked or allocated under them.
	if err := m.c.Barrier(context.Background()); err != nil {
		return fmt.Errorf("offheapmap: Close: %w", err)
	}
	return m.entries.Close()
}
