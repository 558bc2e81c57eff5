package bench

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-reclaim/reclaim/epoch"
	"github.com/go-reclaim/reclaim/hazard"
	"github.com/go-reclaim/reclaim/internal/spin"
	"github.com/go-reclaim/reclaim/refcount"
)

// counted is a value with a reference count, for the raw floors.
type counted struct {
	n atomic.Int64
	v int
}

// sink keeps loaded values alive so that loads are not optimized away.
var sink atomic.Int64

// RefcountAddPair is the floor for Clone+Release: an atomic increment and
// decrement of one counter (two LOCK XADD on amd64).
func RefcountAddPair(b *testing.B) {
	var c paddedWord
	for b.Loop() {
		c.v.Add(1)
		c.v.Add(^uint64(0))
	}
}

// RefcountPointerLoad is an atomic.Pointer load and a read through it: the
// reader's cost when the garbage collector does the reclaiming.
func RefcountPointerLoad(b *testing.B) {
	var src atomic.Pointer[counted]
	src.Store(&counted{v: 1})
	s := 0
	for b.Loop() {
		s += src.Load().v
	}
	sink.Add(int64(s))
}

// RefcountLoadAddPair is the floor for AtomicArc Load+Release: an
// atomic.Pointer load plus an increment and a decrement of the count it
// points to.
func RefcountLoadAddPair(b *testing.B) {
	var src atomic.Pointer[counted]
	src.Store(&counted{v: 1})
	for b.Loop() {
		p := src.Load()
		p.n.Add(1)
		p.n.Add(-1)
	}
}

// RefcountHazardLoad is the floor for a borrowed load: an atomic.Pointer
// load plus what protection costs with hazard pointers (acquire a hazard
// pointer, protect, read, release it).
func RefcountHazardLoad(b *testing.B) {
	d := hazard.New()
	defer d.Close()
	var src atomic.Pointer[counted]
	src.Store(&counted{v: 1})
	s := 0
	for b.Loop() {
		hp := d.Acquire()
		s += hazard.Protect(hp, &src).v
		hp.Release()
	}
	sink.Add(int64(s))
}

// RefcountEpochLoad is the alternative design measured for the choice of
// scheme: Load+Release with the count increment protected by an epoch
// guard (Enter, load, increment, Exit, then the release's decrement).
func RefcountEpochLoad(b *testing.B) {
	c := epoch.New()
	defer c.Close()
	var src atomic.Pointer[counted]
	src.Store(&counted{v: 1})
	for b.Loop() {
		g := c.Enter()
		p := epoch.Load(g, &src)
		p.n.Add(1)
		g.Exit()
		p.n.Add(-1)
	}
}

// ArcCloneRelease measures Arc.Clone and Release of the clone.
func ArcCloneRelease(b *testing.B) {
	a := refcount.NewArc(1, nil)
	defer a.Release()
	b.ReportAllocs()
	for b.Loop() {
		c := a.Clone()
		c.Release()
	}
}

// ArcUpgradeRelease measures Weak.Upgrade (a compare-and-swap loop) and
// Release of the strong handle.
func ArcUpgradeRelease(b *testing.B) {
	a := refcount.NewArc(1, nil)
	defer a.Release()
	w := a.Downgrade()
	defer w.Release()
	b.ReportAllocs()
	for b.Loop() {
		c, _ := w.Upgrade()
		c.Release()
	}
}

// RefcountRcCloneRelease measures Rc.Clone and Release (plain counts).
func RefcountRcCloneRelease(b *testing.B) {
	r := refcount.NewRc(1, nil)
	defer r.Release()
	b.ReportAllocs()
	for b.Loop() {
		c := r.Clone()
		c.Release()
	}
}

// arcSlot returns an AtomicArc holding 1, emptied when the benchmark ends.
func arcSlot(b *testing.B) *refcount.AtomicArc[int] {
	s := refcount.NewAtomicArc(refcount.NewArc(1, nil))
	b.Cleanup(func() { s.Store(refcount.Arc[int]{}) })
	return s
}

// ArcLoadRelease measures AtomicArc.Load, a read through the handle, and
// its Release.
func ArcLoadRelease(b *testing.B) {
	s := arcSlot(b)
	b.ReportAllocs()
	v := 0
	for b.Loop() {
		a := s.Load()
		v += *a.Value()
		a.Release()
	}
	sink.Add(int64(v))
}

// ArcBorrowRelease measures AtomicArc.Borrow, a read through the Guard,
// and its Release.
func ArcBorrowRelease(b *testing.B) {
	s := arcSlot(b)
	b.ReportAllocs()
	v := 0
	for b.Loop() {
		g := s.Borrow()
		v += *g.Value()
		g.Release()
	}
	sink.Add(int64(v))
}

// ArcStore measures AtomicArc.Store of a clone of a preallocated Arc: the
// swap, the retire of the slot's old reference, and the Flush of the
// hazard domain that releases it within the Store (no reader protects it).
func ArcStore(b *testing.B) {
	a := refcount.NewArc(1, nil)
	defer a.Release()
	s := arcSlot(b)
	b.ReportAllocs()
	for b.Loop() {
		s.Store(a.Clone())
	}
}

// ArcLoadParallel is ArcLoadRelease with GOMAXPROCS readers of one slot:
// they contend on the value's count.
func ArcLoadParallel(b *testing.B) {
	s := arcSlot(b)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			a := s.Load()
			a.Release()
		}
	})
}

// ArcBorrowParallel is ArcBorrowRelease with GOMAXPROCS readers: each
// writes only its own hazard slot.
func ArcBorrowParallel(b *testing.B) {
	s := arcSlot(b)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			g := s.Borrow()
			g.Release()
		}
	})
}

// RefcountPointerLoadParallel is RefcountPointerLoad with GOMAXPROCS
// readers, the floor of the parallel rows.
func RefcountPointerLoadParallel(b *testing.B) {
	var src atomic.Pointer[counted]
	src.Store(&counted{v: 1})
	b.RunParallel(func(pb *testing.PB) {
		s := 0
		for pb.Next() {
			s += src.Load().v
		}
		sink.Add(int64(s))
	})
}

// writerInterval is how often the writer of the *WithWriter rows replaces
// the value: every few microseconds, like a busy RCU-style writer.
const writerInterval = 2 * time.Microsecond

// withWriter runs read in the benchmark loop while another goroutine calls
// write every writerInterval. Every row calls its read through the same
// closure, so the rows compare the reads alone. The writer waits in a
// spin of PAUSE instructions: a sleep would last half a millisecond. On a
// 2-CPU machine the spinning writer slows every reader, floors included
// (see the README's note on these rows).
func withWriter(b *testing.B, write func(i int), read func() int) {
	var stop atomic.Bool
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := 0; !stop.Load(); i++ {
			write(i)
			var pause spin.Backoff
			for t := time.Now(); time.Since(t) < writerInterval && !stop.Load(); {
				pause.Pause()
			}
		}
	})
	b.ReportAllocs()
	v := 0
	for b.Loop() {
		v += read()
	}
	stop.Store(true)
	wg.Wait()
	sink.Add(int64(v))
}

// RefcountPointerWithWriter reads through an atomic.Pointer whose writer
// stores a new value every few microseconds and leaves the old one to the
// garbage collector: the floor of the *WithWriter rows.
func RefcountPointerWithWriter(b *testing.B) {
	var src atomic.Pointer[counted]
	src.Store(&counted{v: 1})
	withWriter(b, func(i int) { src.Store(&counted{v: i}) }, func() int { return src.Load().v })
}

// RefcountRWMutexWithWriter reads a pointer under sync.RWMutex.RLock while
// the writer replaces it under Lock.
func RefcountRWMutexWithWriter(b *testing.B) {
	var mu sync.RWMutex
	p := &counted{v: 1}
	withWriter(b, func(i int) {
		q := &counted{v: i}
		mu.Lock()
		p = q
		mu.Unlock()
	}, func() int {
		mu.RLock()
		v := p.v
		mu.RUnlock()
		return v
	})
}

// arcWithWriter runs the read that makeRead builds on an AtomicArc whose
// writer stores a new Arc every few microseconds.
func arcWithWriter(b *testing.B, makeRead func(s *refcount.AtomicArc[int]) func() int) {
	s := arcSlot(b)
	withWriter(b, func(i int) { s.Store(refcount.NewArc(i, nil)) }, makeRead(s))
}

// ArcLoadWithWriter is AtomicArc Load+Release while the writer Stores a
// new Arc every few microseconds.
func ArcLoadWithWriter(b *testing.B) {
	arcWithWriter(b, func(s *refcount.AtomicArc[int]) func() int {
		return func() int {
			a := s.Load()
			v := *a.Value()
			a.Release()
			return v
		}
	})
}

// ArcBorrowWithWriter is AtomicArc Borrow+Release while the writer Stores
// a new Arc every few microseconds.
func ArcBorrowWithWriter(b *testing.B) {
	arcWithWriter(b, func(s *refcount.AtomicArc[int]) func() int {
		return func() int {
			g := s.Borrow()
			v := *g.Value()
			g.Release()
			return v
		}
	})
}
