package bench

import (
	"sync/atomic"
	"testing"
	"unsafe"

	"github.com/go-reclaim/reclaim/container/stack"
	"github.com/go-reclaim/reclaim/hazard"
)

// ProtectRaw is the floor for protecting a pointer: load it, publish it
// with an atomic store (XCHG on amd64), and load it again to validate.
func ProtectRaw(b *testing.B) {
	var src atomic.Pointer[int]
	src.Store(new(int))
	var slot paddedWord
	for b.Loop() {
		p := src.Load()
		slot.v.Store(uint64(uintptr(unsafe.Pointer(p))))
		if src.Load() != p {
			b.Fatal("source changed")
		}
	}
}

// HazardProtectReset measures Protect and Reset on a Pointer held across
// the loop.
func HazardProtectReset(b *testing.B) {
	d := hazard.New()
	defer d.Close()
	var src atomic.Pointer[int]
	src.Store(new(int))
	hp := d.Acquire()
	defer hp.Release()
	for b.Loop() {
		hazard.Protect(hp, &src)
		hp.Reset()
	}
}

// HazardAcquireRelease measures Domain.Acquire and Pointer.Release.
func HazardAcquireRelease(b *testing.B) {
	d := hazard.New()
	defer d.Close()
	b.ReportAllocs()
	for b.Loop() {
		d.Acquire().Release()
	}
}

// HazardRetire measures Retire of a preallocated object (no protections
// set, so every scan reclaims everything).
func HazardRetire(b *testing.B) {
	d := hazard.New()
	defer d.Close()
	obj := new(int)
	free := func(*int) {}
	b.ReportAllocs()
	for b.Loop() {
		hazard.Retire(d, obj, free)
	}
}

// StackHazard is the Treiber stack with nodes recycled through a hazard
// domain: one push and one pop per op, the popper's Pointer held across the
// loop.
func StackHazard(b *testing.B) {
	d := hazard.New()
	defer d.Close()
	s := stack.NewHazard[int](d)
	hp := d.Acquire()
	defer hp.Release()
	b.ReportAllocs()
	for b.Loop() {
		s.Push(1)
		s.Pop(hp)
	}
}

// StackHazardParallel is StackHazard with GOMAXPROCS goroutines.
func StackHazardParallel(b *testing.B) {
	d := hazard.New()
	defer d.Close()
	s := stack.NewHazard[int](d)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		hp := d.Acquire()
		defer hp.Release()
		for pb.Next() {
			s.Push(1)
			s.Pop(hp)
		}
	})
}
