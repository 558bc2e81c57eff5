package hazard_test

import (
	"sync/atomic"
	"testing"

	"github.com/go-reclaim/reclaim/hazard"
)

// BenchmarkFlush is Flush with nothing to do: what refcount pays after a
// Store whose old value some reader still holds, or after nothing at all.
func BenchmarkFlush(b *testing.B) {
	d := hazard.New(hazard.WithMaxBatchAge(0))
	defer d.Close()
	b.ReportAllocs()
	for b.Loop() {
		d.Flush()
	}
}

// BenchmarkSwapRetireFlush is arc-swap's Store: swap a shared pointer,
// retire the old object and Flush, which reclaims it (no reader holds it).
func BenchmarkSwapRetireFlush(b *testing.B) {
	d := hazard.New(hazard.WithMaxBatchAge(0))
	defer d.Close()
	var src atomic.Pointer[int]
	src.Store(new(int))
	spare := new(int)
	free := func(p *int) { spare = p }
	b.ReportAllocs()
	for b.Loop() {
		hazard.Retire(d, src.Swap(spare), free)
		d.Flush()
	}
}

// BenchmarkSwapRetireFlushParallel is the same from every processor at
// once, on one shared pointer, with a hazard pointer per goroutine that
// readers would use.
func BenchmarkSwapRetireFlushParallel(b *testing.B) {
	d := hazard.New(hazard.WithMaxBatchAge(0))
	defer d.Close()
	var src atomic.Pointer[int]
	src.Store(new(int))
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		hp := d.Acquire()
		defer hp.Release()
		objs := make([]int, 1024) // stored in turn; each is reclaimed long before it comes back
		for i := 0; pb.Next(); i++ {
			hazard.Retire(d, src.Swap(&objs[i%len(objs)]), func(*int) {})
			d.Flush()
		}
	})
}
