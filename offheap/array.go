package offheap

import (
	"fmt"
	"math"
	"reflect"
	"sync/atomic"
	"unsafe"
)

// Array is n values of a pointer-free type T in one zeroed block mapped
// from the operating system, never scanned by the garbage collector: the
// building block of an off-heap structure's tables (a hash map's buckets),
// which are replaced whole and freed once no reader can see them.
//
// An Array does no reclamation of its own: Free unmaps the memory at once,
// and a later access through Slice's result faults. Free it when no reader
// can still hold it: retire it through a scheme (epoch.Retire(g, a,
// (*Array[T]).Release)) if lock-free readers may have loaded it. Slice,
// Len and Free are safe for concurrent use. The zero value is not usable;
// make Arrays with NewArray.
type Array[T any] struct {
	mem   []byte
	vals  []T
	freed atomic.Bool
}

// NewArray maps an array of n zero values of T. It fails with ErrPointers
// if T contains Go pointers, with ErrSize if n is not positive, T has size
// zero or the block does not fit the address space, and with the
// operating system's error if the mapping fails.
func NewArray[T any](n int) (*Array[T], error) {
	if err := checkPointerFree(reflect.TypeFor[T]()); err != nil {
		return nil, err
	}
	size := reflect.TypeFor[T]().Size()
	if n <= 0 || size == 0 || uint64(n) > uint64(math.MaxInt)/uint64(size) {
		return nil, fmt.Errorf("%w: NewArray of %d values of %d bytes", ErrSize, n, size)
	}
	mem, err := mapMemory(n * int(size))
	if err != nil {
		return nil, fmt.Errorf("offheap: mapping %d bytes: %w", n*int(size), err)
	}
	return &Array[T]{mem: mem, vals: unsafe.Slice((*T)(unsafe.Pointer(unsafe.SliceData(mem))), n)}, nil
}

// Slice returns the values, in place. It panics after Free.
func (a *Array[T]) Slice() []T {
	if a.freed.Load() {
		panic("offheap: Slice of an Array after its Free")
	}
	return a.vals
}

// Len returns the number of values, also after Free.
func (a *Array[T]) Len() int { return len(a.vals) }

// Bytes returns the size of the mapping.
func (a *Array[T]) Bytes() int { return len(a.mem) }

// Free returns the memory to the operating system. A second Free fails
// with ErrDoubleFree.
func (a *Array[T]) Free() error {
	if a.mem == nil {
		panic("offheap: Free of a zero Array: make Arrays with NewArray")
	}
	if a.freed.Swap(true) {
		return fmt.Errorf("%w: Array of %d values", ErrDoubleFree, len(a.vals))
	}
	return unmapMemory(a.mem)
}

// Release is Free for a free function (epoch.Retire's): it panics if Free
// fails, which only a second Free or a broken mapping can make it do.
func (a *Array[T]) Release() {
	if err := a.Free(); err != nil {
		panic(err)
	}
}
