package workload

import (
	"errors"
	"sync/atomic"

	"github.com/go-reclaim/reclaim/offheap"
)

// newBigmapFloor is the floor of a big map's read: the two dependent
// memory accesses that a read of any hash map too big for the caches
// makes (a table cell, then the entry the cell points to), and nothing
// else. The key range is known, so the table is indexed by the key itself
// and its cell holds the position of the key's entry (no hashing, probing,
// tag check or guard), plus one. Table and entries are mapped as the
// off-heap map's are (offheap.Array: huge pages advised), so a read pays
// the same cache misses and, at most, the same TLB misses as the off-heap
// map's. Its read latency is what this machine allows any map of that
// size: the off-heap map's and xsync's tails are to be read against it.
//
// Entry k sits at position k, and an update rewrites it in place with the
// same words (bigValueOf(k)), so concurrent updates of a key agree; the
// cell's swap decides which of two inserts of an absent key reports it
// absent. Every access is atomic (plain loads and stores on amd64 and
// arm64), for the race detector.
func newBigmapFloor(o Options) *Instance {
	keys := max(o.Capacity, 1) // a map's capacity is its key range
	cells, err := offheap.NewArray[atomic.Uint64](keys)
	if err != nil {
		panic(err)
	}
	entries, err := offheap.NewArray[floorEntry](keys)
	if err != nil {
		panic(errors.Join(err, cells.Free()))
	}
	cell, entry := cells.Slice(), entries.Slice()
	inst := shared(Worker{
		Read: func(k uint64) bool {
			pos := cell[k].Load()
			if pos == 0 {
				return false
			}
			e := &entry[pos-1]
			return e.val[0].Load() == k
		},
		Insert: func(k uint64) bool {
			e := &entry[k]
			for i, w := range bigValueOf(k) {
				e.val[i].Store(w)
			}
			e.key.Store(k)
			return cell[k].Swap(k+1) == 0
		},
		Delete: func(k uint64) bool { return cell[k].Swap(0) != 0 },
	})
	inst.Close = func() error { return errors.Join(cells.Free(), entries.Free()) }
	return inst
}

// floorEntry is a bigmap entry as the off-heap map stores it: the key and
// the 32-byte value.
type floorEntry struct {
	key atomic.Uint64
	val [len(bigValue{})]atomic.Uint64
}
