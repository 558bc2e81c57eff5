package marked

import (
	"sync/atomic"
	"unsafe"

	"github.com/go-reclaim/reclaim/epoch"
	"github.com/go-reclaim/reclaim/hazard"
)

// Pointer is an atomic (*T, mark) pair. The zero value is (nil, false). A
// Pointer must not be copied after first use.
//
// All operations are atomic and sequentially consistent, like those of
// sync/atomic: Load, Store, CompareAndSwap and TryMark on the same Pointer
// are totally ordered and synchronize as atomic.Pointer's do.
//
// T must be at least 2 bytes in size and 2-byte aligned (any struct with a
// pointer or an int16 field is): a pointer to a smaller or byte-aligned T
// may be odd, which the encoding cannot tell from a marked one. Store,
// CompareAndSwap and TryMark panic on a non-nil pointer to such a T, marked
// or not, whatever its address, so a Pointer never holds one (TryProtect of
// one fails; TryReserve's contract, p just read from m, cannot be met);
// nil, marked or not, is fine for any T.
type Pointer[T any] struct {
	_ [0]*T // Pointer[A] and Pointer[B] are not convertible
	// v is &x (unmarked), &x + 1 (marked), nil, or markedNil. Its type is
	// *byte so that hazard.TryProtect can validate an unmarked address.
	v atomic.Pointer[byte]
}

// markedNil encodes (nil, true). It is an odd address inside nilMark, so an
// unmarked (even) address never equals it.
var markedNil = (*byte)(unsafe.Add(unsafe.Pointer(&nilMark), 1))

var nilMark uint16

// Load returns the pointer and the mark.
func (m *Pointer[T]) Load() (p *T, mark bool) { return decode[T](m.v.Load()) }

// Store sets the pointer and the mark.
func (m *Pointer[T]) Store(p *T, mark bool) { m.v.Store(encode(p, mark)) }

// CompareAndSwap sets (newP, newMark) if m holds (oldP, oldMark), and reports
// whether it did.
func (m *Pointer[T]) CompareAndSwap(oldP *T, oldMark bool, newP *T, newMark bool) bool {
	return m.v.CompareAndSwap(encode(oldP, oldMark), encode(newP, newMark))
}

// TryMark sets the mark if m holds (p, false), keeping the pointer, and
// reports whether it did: Harris's logical deletion.
func (m *Pointer[T]) TryMark(p *T) bool {
	return m.v.CompareAndSwap(encode(p, false), encode(p, true))
}

// TryProtect publishes p in hp and reports whether m still holds (p, false)
// after the publication. If it does, p is protected as by hazard.Protect;
// if not (m changed or was marked), p may already be retired and must not be
// dereferenced. A nil p publishes nothing and validates like any other.
//
// Validating against an unmarked field is what makes this safe in a
// Harris-Michael list: a node whose next field is unmarked has not been
// unlinked, so its successor is reachable and not yet retired.
func (m *Pointer[T]) TryProtect(hp *hazard.Pointer, p *T) bool {
	return hazard.TryProtect(hp, (*byte)(unsafe.Pointer(p)), &m.v)
}

// TryReserve is TryProtect for g, a guard of a robust epoch Collector
// (epoch.WithRobust). The caller has just read (p, false) from m, by a Load
// or its own CompareAndSwap, with nothing in between that may raise g's
// reservation (epoch.Load, Guard.Reserve, Pool.Get, a nested guard of the
// same Handle); TryReserve reports whether p is then protected as by
// epoch.Load: safe to dereference until g exits, whose Exit is
// synchronized before p is reclaimed (for a Pool node, before Get hands it
// out again). If not (m changed or was marked), p may already be retired
// and must not be dereferenced. A nil p validates like any other.
//
// It is, if g.Reserve reports that g's reservation already covered the
// read. If Reserve had to extend the reservation, p was read before the
// extension was announced and may have been reclaimed in between, so
// TryReserve re-loads m, fails unless m still holds (p, false), and repeats
// until Reserve reports no change. Checking once would not do: a node
// reclaimed in that gap may come back from a Pool, born at an era after the
// one just reserved, and be linked at m again; only a re-load followed by a
// Reserve that extends nothing shows that the node it saw is covered.
//
// Validating against an unmarked field is enough in a Harris-Michael list
// for the reason given at TryProtect: a node whose next field is unmarked
// has not been unlinked, so p was reachable, hence not retired, when the
// validating read saw it, after the reservation it relies on. On a classic
// Collector Reserve always reports true and TryReserve re-loads nothing.
// TryReserve panics if g has exited.
func (m *Pointer[T]) TryReserve(g *epoch.Guard, p *T) bool {
	// Small enough to inline where T is a concrete type, so that the
	// usual case, a current reservation, costs no call: the loop is out
	// of line (and not generic, which keeps the cost down).
	return g.Reserve() || revalidate(g, &m.v, (*byte)(unsafe.Pointer(p)))
}

// revalidate is TryReserve after Reserve extended g's reservation: p was
// read from v before the extension, so it is protected only if v still
// holds it, unmarked, when read after the extension, by a read that no
// further extension outran.
func revalidate(g *epoch.Guard, v *atomic.Pointer[byte], p *byte) bool {
	for {
		if v.Load() != p {
			return false
		}
		if g.Reserve() {
			return true
		}
	}
}

// encode returns the stored form of (p, mark). The size and alignment test
// is a constant of each instantiation, so it costs nothing for a T that
// passes it, and encode stays small enough to inline.
func encode[T any](p *T, mark bool) *byte {
	if p != nil && (unsafe.Sizeof(*p) < 2 || unsafe.Alignof(*p) < 2) {
		panic(tooSmall)
	}
	if !mark {
		return (*byte)(unsafe.Pointer(p))
	}
	if p == nil {
		return markedNil
	}
	return (*byte)(unsafe.Add(unsafe.Pointer(p), 1))
}

const tooSmall = "marked: Pointer[T] needs T of at least 2 bytes, 2-byte aligned, to hold a non-nil pointer (one to a smaller T may be odd, which reads as marked)"

func decode[T any](v *byte) (*T, bool) {
	if uintptr(unsafe.Pointer(v))&1 == 0 {
		return (*T)(unsafe.Pointer(v)), false
	}
	if v == markedNil {
		return nil, true
	}
	return (*T)(unsafe.Add(unsafe.Pointer(v), -1)), true
}
