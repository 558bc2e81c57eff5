package hazard

import (
	"context"
	"math"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-reclaim/reclaim/internal/fencetest"
	"github.com/stretchr/testify/require"
)

// Flush's promise: an object retired before Flush that no hazard pointer
// protects when Flush's scan looks is reclaimed by Flush, or by a scan of
// another goroutine that had taken it. A scan of Retire that had taken the
// object's batch and then kept it (its look at the slots came before the
// reader's Reset) used to put it back after Flush's take had found the
// list empty: nobody reclaimed it. Flush now waits for such scans and
// scans again (Domain.scan).
//
//	R: Protect(x)                 S: enter, pin, TakeAll {B(x)}, fence,
//	                                 snapshot reads slot 0: x protected
//	R: Reset                      S: (still reading the other slots, pinned)
//	F: Flush: scan(true): TakeAll -> nothing; returns
//	                              S: Judge keeps x, pushes B back, leaves
//
// Many idle slots, which every snapshot reads, widen the window.
func TestFlushWaitsForAScanThatSawAProtection(t *testing.T) {
	if runtime.GOMAXPROCS(0) < 2 {
		t.Skip("needs two processors")
	}
	d := New(WithThreshold(1<<20), WithMaxBatchAge(0))
	defer d.Close()
	hp := d.Acquire() // slot 0: read first by every snapshot
	idle := make([]*Pointer, 200_000)
	for i := range idle {
		idle[i] = d.Acquire()
	}
	for _, p := range idle {
		p.Release()
	}

	type obj struct{ freed atomic.Int32 }
	caught := 0 // rounds where Flush began while the scan held x's batch
	for round := range 50 {
		x := new(obj)
		var src atomic.Pointer[obj]
		src.Store(x)
		if Protect(hp, &src) != x {
			t.Fatal("Protect")
		}
		src.Store(nil) // unlinked
		Retire(d, x, func(o *obj) { o.freed.Add(1) })
		if err := d.flushShards(context.Background()); err != nil { // seal x's batch, no scan (below the threshold)
			t.Fatal(err)
		}
		l := &d.sealed.lists[d.sealed.cur.Load()]

		var wg sync.WaitGroup
		var done atomic.Bool
		wg.Go(func() { d.scan(false); done.Store(true) }) // what a Retire that reaches the threshold runs
		for l.users.Load() == 0 && !done.Load() {
			runtime.Gosched()
		}
		if done.Load() {
			wg.Wait()
			d.Flush()
			continue
		}
		time.Sleep(300 * time.Microsecond) // S has read slot 0 (x protected) and reads the idle slots
		hp.Reset()                         // from now on nothing protects x
		if l.judges[0].Load()+l.judges[1].Load() != 0 {
			caught++ // S still holds x's batch
		}
		d.Flush()
		wg.Wait()
		if x.freed.Load() != 1 {
			st := d.Stats()
			t.Fatalf("round %d: Flush and the concurrent scan both returned with x unreclaimed, though no hazard pointer protected it when Flush was called "+
				"(the scan had taken x's batch, saw x protected, and put it back after Flush's take); freed=%d, Pending=%d, Protecting=%d",
				round, x.freed.Load(), st.Pending, st.Protecting)
		}
	}
	t.Logf("Flush began while the scan held x's batch in %d rounds of 50", caught)
	require.Positive(t, caught, "the race this test is about never happened")
}

// The same with no protection at all (asymmetric fences only): the
// concurrent scan of Retire judges by the newest shared fence, which began
// before x's batch was sealed, so it keeps the batch whole (KeepBatch) and
// puts it back; Flush, which runs a fence of its own, must reclaim x.
func TestFlushWaitsForAScanThatKeptABatchWhole(t *testing.T) {
	fencetest.SkipUnlessAsymmetric(t)
	if runtime.GOMAXPROCS(0) < 2 {
		t.Skip("needs two processors")
	}
	d := New(WithThreshold(1<<20), WithMaxBatchAge(0))
	defer d.Close()
	idle := make([]*Pointer, 200_000)
	for i := range idle {
		idle[i] = d.Acquire()
	}
	for _, p := range idle {
		p.Release()
	}
	type obj struct{ freed atomic.Int32 }
	caught := 0 // rounds where Flush began while the scan held x's batch
	for round := range 50 {
		d.heavy.Fence(&d.seq, 0, true)
		d.heavy.SetLastStart(math.MaxInt64) // a shared fence "just began": scans of Retire share it
		x := new(obj)
		Retire(d, x, func(o *obj) { o.freed.Add(1) })
		if err := d.flushShards(context.Background()); err != nil {
			t.Fatal(err)
		}
		l := &d.sealed.lists[d.sealed.cur.Load()]
		var wg sync.WaitGroup
		var done atomic.Bool
		wg.Go(func() { d.scan(false); done.Store(true) })
		for l.users.Load() == 0 && !done.Load() {
			runtime.Gosched()
		}
		if done.Load() {
			wg.Wait()
			d.Flush()
			continue
		}
		if l.judges[0].Load()+l.judges[1].Load() != 0 {
			caught++
		}
		d.Flush()
		wg.Wait()
		if x.freed.Load() != 1 {
			st := d.Stats()
			t.Fatalf("round %d: Flush and the concurrent scan both returned with x unreclaimed and never protected "+
				"(the scan had taken its batch and kept it whole); freed=%d, Pending=%d, Protecting=%d",
				round, x.freed.Load(), st.Pending, st.Protecting)
		}
	}
	t.Logf("Flush began while the scan held x's batch in %d rounds of 50", caught)
	require.Positive(t, caught, "the race this test is about never happened")
}
