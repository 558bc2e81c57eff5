package registry

import (
	"iter"
	"math/bits"
	"sync/atomic"
	"unsafe"

	"github.com/go-reclaim/reclaim/internal/cacheline"
	"github.com/go-reclaim/reclaim/internal/release"
)

// firstBucket is the number of slots in bucket 0; bucket b holds
// firstBucket<<b slots, so maxBuckets buckets hold more slots than there can
// be goroutines.
const (
	firstBucket = 8
	maxBuckets  = 32
)

// Slot is one record. The padding in front keeps the Values of neighbouring
// slots on different cache lines whatever the size of T.
type Slot[T any] struct {
	_ cacheline.Pad
	// Value is the record's payload.
	Value T

	index    uint32        // position in the registry, written before its bucket is published
	nextFree atomic.Uint32 // free-list link: index+1 of the next free slot
	home     bool          // a P's home slot (see perP): owned says who has it
	owned    atomic.Uint64 // home slots only: 1 while an owner has it
}

// Index reports the slot's position; it is stable for the registry's life.
func (s *Slot[T]) Index() int { return int(s.index) }

// Registry is a growable set of slots that never move. The zero value is not
// usable; call New.
type Registry[T any] struct {
	buckets [maxBuckets]atomic.Pointer[Slot[T]]
	created atomic.Uint32 // slots created so far
	_       cacheline.Pad
	free    atomic.Uint64 // tag<<32 | (index+1) of the first free slot; 0 = empty
	_       cacheline.Pad
	cache   perP[T]
}

// New returns an empty registry with home and spare slots for as many Ps
// as the current GOMAXPROCS; Ps beyond them use the free list alone.
func New[T any]() *Registry[T] {
	r := &Registry[T]{}
	r.cache.init()
	return r
}

// locate maps a slot index to its bucket and offset.
func locate(i uint32) (bucket int, offset uint32) {
	q := i/firstBucket + 1
	bucket = bits.Len32(q) - 1
	return bucket, i - firstBucket*(1<<bucket-1)
}

func bucketLen(b int) uint32 { return firstBucket << b }

// Get returns a slot owned by the caller until it calls Put: the current
// P's home slot if it is free, else one from the free list or a new one.
// Use it for short ownership (a pooled guard or hazard pointer).
//
// A nil Registry has no slots: Get returns nil (the zero value of the
// types that own a Registry, which their callers report by name).
func (r *Registry[T]) Get() *Slot[T] {
	if r == nil {
		return nil
	}
	if s := r.cache.take(); s != nil {
		return s
	}
	return r.GetLong()
}

// GetLong returns a slot owned by the caller until it calls Put, never a
// P's home slot: an owner that keeps its slot for long (epoch.Handle) would
// otherwise send every short owner on that P to the free list.
func (r *Registry[T]) GetLong() *Slot[T] {
	if s := r.pop(); s != nil {
		return s
	}
	return r.grow()
}

// Put gives s back. The caller must own s and must not use it afterwards.
// A home slot is given back with one release store, from any P.
func (r *Registry[T]) Put(s *Slot[T]) {
	if s.home { // inlined: the common case of a short owner's Put
		release.StoreUint64(&s.owned, 0)
		return
	}
	r.putShared(s)
}

// putShared is Put of a slot that is not a home.
func (r *Registry[T]) putShared(s *Slot[T]) {
	if r.cache.adopt(s) {
		return
	}
	r.push(s)
}

// grow creates a new slot. Two goroutines that reach an empty bucket both
// allocate it; the loser's allocation is dropped.
func (r *Registry[T]) grow() *Slot[T] {
	i := r.created.Add(1) - 1
	b, off := locate(i)
	if b >= maxBuckets {
		panic("reclaim/internal/registry: slot limit exceeded")
	}
	first := r.buckets[b].Load()
	if first == nil {
		first = r.install(b)
	}
	return &unsafe.Slice(first, bucketLen(b))[off]
}

// install allocates bucket b unless another goroutine got there first. Every
// slot's index is written before the bucket pointer is published, so a scan
// (All) that reaches a slot through that pointer reads its index without a
// race, even before the slot has an owner.
func (r *Registry[T]) install(b int) *Slot[T] {
	fresh := make([]Slot[T], bucketLen(b))
	start := firstBucket * (uint32(1)<<b - 1)
	for i := range fresh {
		fresh[i].index = start + uint32(i)
	}
	if r.buckets[b].CompareAndSwap(nil, &fresh[0]) {
		return &fresh[0]
	}
	return r.buckets[b].Load()
}

func (r *Registry[T]) at(i uint32) *Slot[T] {
	b, off := locate(i)
	return &unsafe.Slice(r.buckets[b].Load(), bucketLen(b))[off]
}

// pop takes the first free slot. The tag in the head's high half changes on
// every update, so a head that was popped and pushed back between our load
// and our CAS (ABA) makes the CAS fail.
func (r *Registry[T]) pop() *Slot[T] {
	for {
		h := r.free.Load()
		top := uint32(h)
		if top == 0 {
			return nil
		}
		s := r.at(top - 1)
		next := uint64(s.nextFree.Load())
		if r.free.CompareAndSwap(h, (h>>32+1)<<32|next) {
			return s
		}
	}
}

func (r *Registry[T]) push(s *Slot[T]) {
	for {
		h := r.free.Load()
		s.nextFree.Store(uint32(h))
		if r.free.CompareAndSwap(h, (h>>32+1)<<32|uint64(s.index+1)) {
			return
		}
	}
}

// Len reports how many slots exist (owned or not).
func (r *Registry[T]) Len() int { return int(r.created.Load()) }

// All yields every slot created so far, owned or free, in index order. It
// takes no lock: a slot whose bucket is being installed concurrently may be
// skipped, which is safe because its owner has not yet received it and so
// cannot have published anything in it.
func (r *Registry[T]) All() iter.Seq[*Slot[T]] {
	return func(yield func(*Slot[T]) bool) {
		n := r.created.Load()
		for b := 0; b < maxBuckets; b++ {
			start := firstBucket * (uint32(1)<<b - 1)
			if start >= n {
				return
			}
			first := r.buckets[b].Load()
			if first == nil {
				continue
			}
			for i := range unsafe.Slice(first, bucketLen(b)) {
				if start+uint32(i) >= n {
					return
				}
				if !yield(&unsafe.Slice(first, bucketLen(b))[i]) {
					return
				}
			}
		}
	}
}
