package offheapmap

import (
	"math/bits"
	"sync/atomic"

	"github.com/go-reclaim/reclaim/internal/cacheline"
	"github.com/go-reclaim/reclaim/offheap"
)

// A table is an open-addressing array of buckets in off-heap memory,
// probed linearly bucket by bucket. A bucket is one 64-byte cache line: a
// meta word holding one tag byte per slot, and seven slots holding the
// offheap.Handle of an entry.
//
// A slot's tag is its state: tagEmpty, tagDeleted (a tombstone), tagBusy
// (claimed by an insert that is writing the handle) or a live tag, derived
// from the key's hash, that lets a probe skip most non-matching entries
// without touching them.
//
// A probe stops at the first bucket with an empty slot. That is right
// because of an invariant: no bucket from a key's home bucket up to, not
// including, the bucket holding it has an empty slot. An insert keeps it by
// taking the first empty or deleted slot of its probe sequence; a delete
// keeps it by leaving a tombstone, except in a bucket that already has an
// empty slot, where no key's probe passes anyway: there the slot becomes
// empty again (as in SwissTable), so a map whose size stays steady does
// not fill up with tombstones and rebuild its table over and over.
const (
	slotsPerBucket = 7
	tagEmpty       = 0
	tagDeleted     = 1
	tagBusy        = 2
	firstLiveTag   = 3
)

type bucket struct {
	meta  atomic.Uint64 // byte j: slot j's tag; byte 7 unused (0)
	slots [slotsPerBucket]atomic.Uint64
}

type table struct {
	arr     *offheap.Array[bucket]
	buckets []bucket
	mask    uint64
	_       cacheline.Pad // buckets and mask are read by every probe
	// used counts the slots that are not empty (live, deleted or busy),
	// for the growth check; only writers holding a stripe change it.
	used atomic.Int64
}

func newTable(buckets int) (*table, error) {
	arr, err := offheap.NewArray[bucket](buckets)
	if err != nil {
		return nil, err
	}
	return &table{arr: arr, buckets: arr.Slice(), mask: uint64(buckets - 1)}, nil
}

// release unmaps t; the free function of a retired table.
func (t *table) release() { t.arr.Release() }

// full reports whether t should grow: at most three quarters of its slots
// are meant to be used, so that every probe meets an empty slot soon.
func (t *table) full() bool {
	return t.used.Load()*4 > int64(len(t.buckets)*slotsPerBucket)*3
}

// reserve counts one more used slot for an insert, unless that would pass
// the hard limit of seven eighths of the slots: writers of different
// stripes insert between the growth check and the grow, and without the
// limit enough of them would fill the table, after which no probe would
// end. Below it, empty slots remain, so probes and inserts terminate.
func (t *table) reserve() bool {
	limit := int64(len(t.buckets)*slotsPerBucket) * 7 / 8
	if t.used.Add(1) > limit {
		t.used.Add(-1)
		return false
	}
	return true
}

// tagOf is the live tag of a hash.
func tagOf(h uint64) uint8 { return firstLiveTag + uint8((h>>56)%(256-firstLiveTag)) }

const (
	lows   = 0x0001010101010101 // the low bit of slot bytes 0 to 6
	highs  = 0x0080808080808080 // the high bit of slot bytes 0 to 6
	sevens = 0x7f7f7f7f7f7f7f7f
)

// zeroBytes returns the high bit of each slot byte of x that is zero,
// exactly (no false positives from borrows).
func zeroBytes(x uint64) uint64 {
	return ^((x & sevens) + sevens | x | sevens) & highs
}

// matching returns the high bit of each slot byte of meta equal to tag.
func matching(meta uint64, tag uint8) uint64 { return zeroBytes(meta ^ lows*uint64(tag)) }

// slotOf is the slot of the lowest byte marked in a result of zeroBytes.
func slotOf(marks uint64) int { return bits.TrailingZeros64(marks) / 8 }

// tagAt returns slot j's tag in meta.
func tagAt(meta uint64, j int) uint8 { return uint8(meta >> (8 * j)) }

// setTag changes slot j's tag from from to to, and reports whether it did
// (false if the tag was not from). Other slots' tags may change meanwhile
// (writers of other stripes claim and delete in the same bucket), hence
// the loop.
func (b *bucket) setTag(j int, from, to uint8) bool {
	shift := 8 * j
	for {
		meta := b.meta.Load()
		if tagAt(meta, j) != from {
			return false
		}
		if b.meta.CompareAndSwap(meta, meta&^(0xff<<shift)|uint64(to)<<shift) {
			return true
		}
	}
}

// remove marks live slot j deleted, or empty if the bucket has another
// empty slot (see the invariant above), in one compare-and-swap of the
// meta word, and reports whether the slot became empty.
func (b *bucket) remove(j int) (emptied bool) {
	shift := 8 * j
	for {
		meta := b.meta.Load()
		to := uint64(tagDeleted)
		if zeroBytes(meta) != 0 { // slot j is live: the empty slot is another
			to = tagEmpty
		}
		if b.meta.CompareAndSwap(meta, meta&^(0xff<<shift)|to<<shift) {
			return to == tagEmpty
		}
	}
}

// claim marks the first empty or deleted slot of b busy and returns it, or
// -1 if b has none; wasEmpty tells which it was.
func (b *bucket) claim() (j int, wasEmpty bool) {
	for {
		meta := b.meta.Load()
		free := zeroBytes(meta) | matching(meta, tagDeleted)
		if free == 0 {
			return -1, false
		}
		j = slotOf(free)
		shift := 8 * j
		if b.meta.CompareAndSwap(meta, meta&^(0xff<<shift)|tagBusy<<shift) {
			return j, tagAt(meta, j) == tagEmpty
		}
	}
}
