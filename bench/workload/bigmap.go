package workload

import (
	"sync"
	"time"

	"github.com/puzpuzpuz/xsync/v4"

	"github.com/go-reclaim/reclaim/container/hashmap"
	"github.com/go-reclaim/reclaim/container/offheapmap"
	"github.com/go-reclaim/reclaim/epoch"
)

// DefaultBigmapEntries is the number of entries of the bigmap structure
// unless Bigmap is given another.
const DefaultBigmapEntries = 10_000_000

// bigmapCollectEvery is how often a bigmap run starts a garbage collection
// of its own (besides those its allocations trigger): the application
// around a big map allocates, so the collector runs, and the question is
// what each cycle costs with the map in the heap and how reads fare
// meanwhile.
const bigmapCollectEvery = 100 * time.Millisecond

var bigmapStructure = Bigmap(DefaultBigmapEntries)

// bigValue is a bigmap entry's value: 32 bytes, the size of a small cache
// record. Its first word is the key, which a read checks, so that every
// scheme touches the value it finds.
type bigValue [4]uint64

func bigValueOf(k uint64) bigValue { return bigValue{k, k ^ 0x5bd1e995, k << 1, ^k} }

// Bigmap is the bigmap structure with about entries entries: the key
// range is twice that, and the prefill stores half the keys, as for the
// map. Its variants are the off-heap map against the maps and caches Go
// programs keep millions of entries in.
func Bigmap(entries uint64) *Structure {
	return &Structure{
		Name: "bigmap",
		Doc: "a map of many entries (uint64 keys, 32-byte values), with a garbage collection started every " +
			bigmapCollectEvery.String() + ": off-heap (container/offheapmap) against the Go heap's maps and the byte caches",
		OptIn:        true,
		KeyRanges:    []KeyRange{{"large", 2 * entries}},
		CollectEvery: bigmapCollectEvery,
		variants: map[Scheme]func(Options) *Instance{
			Offheap:   newBigmapOffheap,
			Floor:     newBigmapFloor,
			GC:        newBigmapGC,
			Mutex:     newBigmapMutex,
			SyncMap:   newBigmapSyncMap,
			XSync:     newBigmapXSync,
			Fastcache: newBigmapFastcache,
			Bigcache:  newBigmapBigcache,
		},
	}
}

// bigmapBatch is the off-heap map's collector's batch size: with the
// asymmetric fence, each sealed batch costs a membarrier, which interrupts
// every running thread of the process (several microseconds on a virtual
// machine, where the interrupt exits to the hypervisor): at the default of
// 64 entries a batch, a map taking thousands of updates a second stalls
// its readers often enough to show in their 99.9th percentile.
//
// Measured on the 2-core development machine, 90/10, 2 goroutines: with
// 1M entries the reads' 99.9th percentile is 9.0 us with batches of 64,
// 0.78 us with 256; with 10M entries 2.1 us with 256 and 1.18 us with
// 2048, as with the sequentially consistent fences (which need no
// membarrier). Throughput is the same.
const bigmapBatch = 2048

// bigmapSlack is room in the off-heap map for entries in their grace
// period, beyond every key of the range.
const bigmapSlack = 1 << 20

func newBigmapOffheap(o Options) *Instance {
	c := newCollector(o, epoch.WithBatchSize(bigmapBatch))
	m, err := offheapmap.New[uint64, bigValue](c, o.Capacity+bigmapSlack)
	if err != nil {
		panic(err)
	}
	inst := epochInstance(c, func(h *epoch.Handle) Worker {
		return Worker{
			Read: func(k uint64) bool {
				g := h.Enter()
				v, ok := m.Load(g, k)
				ok = ok && v[0] == k
				g.Exit()
				return ok
			},
			Insert: func(k uint64) bool {
				g := h.Enter()
				replaced, err := m.Store(g, k, bigValueOf(k))
				g.Exit()
				if err != nil {
					panic(err)
				}
				return !replaced
			},
			Delete: func(k uint64) bool { g := h.Enter(); ok := m.Delete(g, k); g.Exit(); return ok },
		}
	})
	closeCollector := inst.Close
	inst.Close = func() error {
		if err := m.Close(); err != nil {
			return err
		}
		return closeCollector()
	}
	return inst
}

func newBigmapGC(o Options) *Instance {
	m := hashmap.NewGC[uint64, bigValue](buckets(o))
	return shared(Worker{
		Read:   func(k uint64) bool { v, ok := m.Get(k); return ok && v[0] == k },
		Insert: func(k uint64) bool { _, replaced := m.Put(k, bigValueOf(k)); return !replaced },
		Delete: func(k uint64) bool { _, ok := m.Delete(k); return ok },
	})
}

// newBigmapMutex is a Go map behind a sync.RWMutex. Its keys and values
// hold no pointers, so the garbage collector does not scan its buckets:
// the trick Go programs use for big maps today, at the price of the lock.
// It repeats newMutexMap for another value type rather than share it
// through function values: a call per operation slowed that baseline by
// about 5% (measured).
func newBigmapMutex(o Options) *Instance {
	var mu sync.RWMutex
	m := make(map[uint64]bigValue, o.Capacity/2)
	return shared(Worker{
		Read: func(k uint64) bool {
			mu.RLock()
			v, ok := m[k]
			mu.RUnlock()
			return ok && v[0] == k
		},
		Insert: func(k uint64) bool {
			mu.Lock()
			_, ok := m[k]
			m[k] = bigValueOf(k)
			mu.Unlock()
			return !ok
		},
		Delete: func(k uint64) bool {
			mu.Lock()
			_, ok := m[k]
			delete(m, k)
			mu.Unlock()
			return ok
		},
	})
}

func newBigmapSyncMap(Options) *Instance {
	var m sync.Map
	return shared(Worker{
		Read: func(k uint64) bool {
			v, ok := m.Load(k)
			return ok && v.(*bigValue)[0] == k
		},
		Insert: func(k uint64) bool {
			v := bigValueOf(k)
			_, loaded := m.Swap(k, &v)
			return !loaded
		},
		Delete: func(k uint64) bool { _, ok := m.LoadAndDelete(k); return ok },
	})
}

func newBigmapXSync(o Options) *Instance {
	m := xsync.NewMap[uint64, bigValue](xsync.WithPresize(o.Capacity / 2))
	return shared(Worker{
		Read:   func(k uint64) bool { v, ok := m.Load(k); return ok && v[0] == k },
		Insert: func(k uint64) bool { _, loaded := m.LoadAndStore(k, bigValueOf(k)); return !loaded },
		Delete: func(k uint64) bool { _, ok := m.LoadAndDelete(k); return ok },
	})
}
