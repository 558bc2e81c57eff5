package hazard

import (
	"fmt"

	"github.com/go-reclaim/reclaim/internal/release"
)

// Pointer is a hazard pointer: one slot that protects at most one object at
// a time. It belongs to the goroutine that acquired it until Release; to
// hand it to another goroutine, use a synchronizing operation in between.
//
// Misuse panics: Protect, Reset or Release through a released Pointer.
type Pointer struct {
	d *Domain
	s *slot // nil once released
}

// Acquire returns a hazard pointer of d, protecting nothing. Slots are taken
// from the processor's home slot, or a shared free list, and reused after
// Release; they are never freed
// while d lives. In steady state Acquire does not allocate: when the
// returned *Pointer does not escape the caller, the compiler keeps it on the
// stack. Acquire panics if d is closed.
func (d *Domain) Acquire() *Pointer {
	return &Pointer{d: d, s: d.acquire()}
}

func (d *Domain) acquire() *slot {
	d.checkOpen("Acquire")
	return d.take()
}

// take takes a slot for a Pointer; the caller has checked that d is open.
func (d *Domain) take() *slot {
	s := d.slots.Get()
	release.StoreUintptr(&s.Value.held, 1) // counted by scans and Stats as a Pointer held
	return s
}

// Release resets hp and gives its slot back. Release panics if hp was
// already released.
func (hp *Pointer) Release() {
	s := hp.active(releasedRelease)
	hp.s = nil
	if s.Value.addr.Load() != 0 {
		reset(s)
	}
	release.StoreUintptr(&s.Value.held, 0)
	hp.d.slots.Put(s)
	hp.d = nil
}

// Domain returns the domain hp belongs to: nil once hp is released (and for
// a zero Pointer).
func (hp *Pointer) Domain() *Domain { return hp.d }

// active returns hp's slot, or panics with misuse, the constant message
// that names the operation, if hp was released. (A message built here, from
// the operation's name, put Protect over the inlining budget.)
func (hp *Pointer) active(misuse string) *slot {
	s := hp.s
	if s == nil {
		panic(misuse)
	}
	return s
}

const (
	releasedProtect    = "hazard: Protect through a Pointer that was already released"
	releasedTryProtect = "hazard: TryProtect through a Pointer that was already released"
	releasedReset      = "hazard: Reset through a Pointer that was already released"
	releasedRelease    = "hazard: Release through a Pointer that was already released"
)

// MaxArray is the most hazard pointers an Array holds.
const MaxArray = 8

// Array is several hazard pointers acquired together, for traversals that
// hold more than one protection at a time (hand-over-hand through a list
// needs two or three). It belongs to one goroutine, like a Pointer.
type Array struct {
	ptrs [MaxArray]Pointer
	n    int
}

// AcquireArray returns n hazard pointers of d, 1 <= n <= MaxArray. Like
// Acquire it does not allocate when the *Array stays on the caller's stack.
func (d *Domain) AcquireArray(n int) *Array {
	a := &Array{}
	d.fill(a, n)
	return a
}

func (d *Domain) fill(a *Array, n int) {
	if n < 1 || n > MaxArray {
		panic(fmt.Sprintf("hazard: AcquireArray(%d): n must be between 1 and %d", n, MaxArray))
	}
	// Checked once: a check per slot that failed part way, with Close
	// racing, would leave the slots taken before it held for good.
	d.checkOpen("AcquireArray")
	a.n = n
	for i := range n {
		a.ptrs[i] = Pointer{d: d, s: d.take()}
	}
}

// At returns the i-th hazard pointer of the array.
func (a *Array) At(i int) *Pointer {
	if uint(i) >= uint(a.n) {
		a.outOfRange(i)
	}
	return &a.ptrs[i]
}

// outOfRange is At's panic, out of line so that At inlines.
//
//go:noinline
func (a *Array) outOfRange(i int) {
	panic(fmt.Sprintf("hazard: Array.At(%d) out of range [0, %d)", i, a.n))
}

// Len is the number of hazard pointers in the array.
func (a *Array) Len() int { return a.n }

// Domain returns the domain the array's hazard pointers belong to: nil for
// a zero Array, and once any of its pointers is released.
func (a *Array) Domain() *Domain {
	d := a.ptrs[0].d
	for _, p := range a.ptrs[:a.n] {
		if p.d != d {
			return nil
		}
	}
	return d
}

// Release releases every hazard pointer of the array. It panics if any was
// already released.
func (a *Array) Release() {
	for i := range a.n {
		a.ptrs[i].Release()
	}
}
