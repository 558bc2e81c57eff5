package hashmap

import (
	"cmp"
	"hash/maphash"
	"math/bits"

	"github.com/go-reclaim/reclaim/container/internal/hmlist"
)

// table is the bucket array shared by the variants. It never changes after
// construction, so reading it needs no synchronization.
type table[K cmp.Ordered, V any] struct {
	buckets []hmlist.List[K, V]
	seed    maphash.Seed
}

// newTable returns a table of n buckets rounded up to a power of two. It
// panics if n < 1.
func newTable[K cmp.Ordered, V any](n int) table[K, V] {
	if n < 1 {
		panic("hashmap: bucket count must be at least 1")
	}
	n = 1 << bits.Len(uint(n-1))
	return table[K, V]{buckets: make([]hmlist.List[K, V], n), seed: maphash.MakeSeed()}
}

// bucket returns key's bucket. Every NaN goes to bucket 0, where the
// bucket's order (cmp.Compare) makes them one key: maphash would hash each
// NaN differently, and a NaN would be found again only by chance.
func (t *table[K, V]) bucket(key K) *hmlist.List[K, V] {
	var h uint64
	if key == key { // false only for NaN; constant true for other key types
		h = maphash.Comparable(t.seed, key)
	}
	return &t.buckets[h&uint64(len(t.buckets)-1)]
}

// Buckets is the number of buckets, a power of two.
func (t *table[K, V]) Buckets() int { return len(t.buckets) }
