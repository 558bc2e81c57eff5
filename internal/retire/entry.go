// Package retire holds the representation of retired objects shared by the
// epoch and hazard packages: a type-erased (pointer, free function) pair that
// is built and reclaimed without allocating, and batches of them.
package retire

import "unsafe"

// freer is implemented by typedFree[T], deferred and *Bin. Both are single
// pointer-shaped fields, so storing them in an interface does not allocate.
type freer interface {
	free(p unsafe.Pointer)
}

type typedFree[T any] struct{ fn func(*T) }

func (t typedFree[T]) free(p unsafe.Pointer) { t.fn((*T)(p)) }

type deferred struct{ fn func() }

func (d deferred) free(unsafe.Pointer) { d.fn() }

// Entry is one retired object: its address (which keeps it alive for the
// garbage collector until it is reclaimed) and the function that reclaims it.
type Entry struct {
	ptr unsafe.Pointer
	fn  freer
}

// Of returns the entry that reclaims p by calling free(p).
func Of[T any](p *T, free func(*T)) Entry {
	return Entry{ptr: unsafe.Pointer(p), fn: typedFree[T]{free}}
}

// Func returns an entry that calls fn when reclaimed; it has no address.
func Func(fn func()) Entry { return Entry{fn: deferred{fn}} }

// Addr is the retired object's address (nil for Func entries).
func (e *Entry) Addr() unsafe.Pointer { return e.ptr }

// Reclaim runs the free function.
func (e *Entry) Reclaim() { e.fn.free(e.ptr) }
