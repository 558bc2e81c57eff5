package workload

// Scheme is how a structure's removed nodes are reclaimed, or which Go
// alternative stands in for the structure.
type Scheme string

// The schemes, in the order reports list them.
const (
	GC          Scheme = "gc"           // the library's container, removed nodes left to the garbage collector
	Epoch       Scheme = "epoch"        // epoch guards, removed nodes retired and then dropped
	EpochPool   Scheme = "epoch-pool"   // epoch guards, nodes recycled through epoch.Pool
	EpochRobust Scheme = "epoch-robust" // epoch-pool on a WithRobust collector: a stalled guard holds back only what it could load
	Hazard      Scheme = "hazard"       // hazard pointers, nodes recycled once unprotected
	Chan        Scheme = "chan"         // a buffered channel
	Mutex       Scheme = "mutex"        // a slice or map guarded by a sync.Mutex or sync.RWMutex
	SyncMap     Scheme = "syncmap"      // sync.Map
	XSync       Scheme = "xsync"        // github.com/puzpuzpuz/xsync/v4: Map or MPMCQueue
	Offheap     Scheme = "offheap"      // container/offheapmap: entries and table off the Go heap, epoch guards
	Floor       Scheme = "floor"        // bigmap only: a read's two dependent memory accesses and nothing else
	Fastcache   Scheme = "fastcache"    // github.com/VictoriaMetrics/fastcache
	Bigcache    Scheme = "bigcache"     // github.com/allegro/bigcache/v3
)

var schemeDocs = map[Scheme]string{
	GC:          "the container with removed nodes left to the garbage collector (the Go baseline)",
	Epoch:       "the container under epoch guards, removed nodes retired and left to the garbage collector after a grace period",
	EpochPool:   "the container under epoch guards (one Handle per goroutine, a guard per operation), nodes recycled through epoch.Pool",
	EpochRobust: "the container under epoch guards on a collector made WithRobust (interval-based: a guard stalled or descheduled mid-operation holds back only the nodes alive while it could load them), nodes recycled through epoch.Pool with their birth eras",
	Hazard:      "the container under hazard pointers (acquired once per goroutine), nodes recycled once no hazard pointer protects them",
	Floor:       "bigmap only, no map: the two dependent memory accesses of a big map's read (a cell of a table indexed by the key, then the entry it points to), off the heap like offheap's; what this machine allows any map's reads",
	Chan:        "a buffered channel, non-blocking send and receive",
	Mutex:       "a slice (stack, queue) or map guarded by a mutex (sync.RWMutex for the map, readers share it)",
	SyncMap:     "sync.Map",
	XSync:       "github.com/puzpuzpuz/xsync/v4: Map for the map, MPMCQueue for the queue",
	Offheap:     "container/offheapmap: entries in an offheap.Slab and the table in an offheap.Array, never scanned by the garbage collector; reads in place under epoch guards (one Handle per goroutine)",
	Fastcache:   "github.com/VictoriaMetrics/fastcache: byte keys and values in mmap'd chunks, reads copy the value",
	Bigcache:    "github.com/allegro/bigcache/v3: byte keys and values in pointer-free shards, reads copy the value",
}

// Schemes lists every scheme in report order.
func Schemes() []Scheme {
	return []Scheme{GC, Epoch, EpochPool, EpochRobust, Hazard, Offheap, Floor, Chan, Mutex, SyncMap, XSync, Fastcache, Bigcache}
}

// Doc says what the scheme measures.
func (s Scheme) Doc() string { return schemeDocs[s] }

// Reclaims reports whether the scheme is one of the library's (it has
// pending objects to sample).
func (s Scheme) Reclaims() bool {
	return s == Epoch || s == EpochPool || s == EpochRobust || s == Hazard || s == Offheap
}
