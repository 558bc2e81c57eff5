// Package marked provides Pointer, an atomic pointer with a mark bit that is
// read and updated in the same atomic operation as the pointer: the
// "marked reference" of Harris's and Michael's lock-free lists, which logically
// delete a node by marking its next field so that no insertion after it can
// succeed.
//
// Go pointers carry no tag bits, so Pointer encodes the mark in the address
// it stores: a marked pointer to x is stored as the address of x's second
// byte, an interior pointer into the same object. Why this is sound:
//
//   - Garbage collector: an interior pointer keeps its whole object alive
//     and is traced like a pointer to its start, so a marked link retains its
//     target exactly as an unmarked one does. The stored value is always a
//     real pointer (never a uintptr), so no object is freed while it is only
//     reachable through a marked link.
//   - checkptr (on under -race and -d=checkptr): it rejects pointer
//     arithmetic whose result leaves the original allocation, and any
//     arithmetic on nil ("pointer arithmetic computed bad pointer value").
//     Pointer adds 1 only to non-nil pointers to objects of at least two
//     bytes, so x+1 stays inside x and x+1-1 is x again; a marked nil is a
//     package sentinel, not nil+1. Conversions back to *T happen only on
//     the unmarked, properly aligned address.
//   - Ambiguity: T must be at least 2-byte aligned, so every unmarked
//     address is even and every marked one odd. A pointer to a smaller or
//     byte-aligned T (a byte, a [2]byte, a zero-size field) may be odd
//     itself, so every non-nil pointer to such a T is rejected with a
//     panic, marked or not, whatever its address: an even one would pass
//     by chance, and the same code fail elsewhere.
//
// The alternative, Java's AtomicMarkableReference, allocates an immutable
// (pointer, mark) pair on every update. Measured on a 2-core AMD EPYC
// (BenchmarkCompareAndSwap), a CompareAndSwap costs about 7 ns here and 18
// to 30 ns plus a 16-byte allocation with pairs, which would also defeat
// the allocation-free node recycling of the epoch containers; and a pair
// cannot be validated by a single hazard-pointer re-load. Load costs the
// same (under 1 ns) either way.
//
// TryProtect publishes a loaded pointer in a hazard pointer and validates it
// against the marked field, as Michael's list needs; TryReserve does the
// same for a guard of a robust epoch Collector (epoch.WithRobust), which
// protects by reserved eras instead of by address.
package marked
