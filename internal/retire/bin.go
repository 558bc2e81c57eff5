package retire

import "unsafe"

// Bin is a free function that takes many objects at once: a Pool's, which
// keeps reclaimed objects in per-processor lists. Free hands a Bin each run
// of consecutive entries that retire through it, so that it takes its list
// once per run rather than once per object: the hazard Pool stack
// (bench's StackHazard) took 33.3 ns a push and pop instead of 37.0, and
// the check for a Bin costs other entries about 0.5 ns each (HazardRetire
// 11.5 to 12.2 ns, EpochRetire 17.9 to 18.5). Its functions run no user
// code and must not panic.
type Bin struct {
	one func(unsafe.Pointer)
	all func([]Entry)
}

// NewBin returns a Bin that frees one object with one and a run of entries
// with all.
func NewBin(one func(unsafe.Pointer), all func([]Entry)) *Bin { return &Bin{one, all} }

func (b *Bin) free(p unsafe.Pointer) { b.one(p) }

// Binned returns the entry that reclaims p through b.
func Binned[T any](p *T, b *Bin) Entry { return Entry{ptr: unsafe.Pointer(p), fn: b} }

// sameBin reports whether fn is b. A type assertion compares the dynamic
// type's word inline, where comparing the interfaces calls the runtime
// (runtime.ifaceeq, 3% of the hazard Pool stack's time).
func sameBin(fn freer, b *Bin) bool {
	c, ok := fn.(*Bin)
	return ok && c == b
}
