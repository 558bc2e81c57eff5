package hazard

import (
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// A batch that holds a protected object x and an unprotected one y is
// doomed with x kept (retire.Judge). x used to go back on the list only
// after retire.Free had run y's free function, after the scan had stopped
// counting among the list's judges: a Flush in between took an empty list,
// was alone, found nothing on the ready stack (the other scan had popped
// the batch) and returned, leaving x pending and unprotected with nobody to
// reclaim it. Scans now put such entries back before they stop counting
// (retire.Separate).
//
//	R: Protect(x)
//	G: Retire(x), Retire(y), ... the 64th seals the batch and scans (not
//	   fresh): x protected, y not -> batch doomed, keep=1 -> ready;
//	   endJudging; drain pops it; Free runs y's free function (slow)
//	R: Reset                       (nothing protects x from now on)
//	F: Flush: scan(true): judged read, TakeAll -> nothing, alone; returns
//	G: y's free returns; Free pushes the batch (x) back; G returns
func TestFlushReclaimsKeptEntryOfMixedBatch(t *testing.T) {
	d := New(WithThreshold(1), WithMaxBatchAge(0))
	defer d.Close()
	hp := d.Acquire()

	type obj struct{ freed atomic.Int32 }
	for round := range 20 {
		x := new(obj)
		var src atomic.Pointer[obj]
		src.Store(x)
		if Protect(hp, &src) != x {
			t.Fatal("Protect")
		}
		src.Store(nil) // unlinked

		inFree := make(chan struct{})
		gate := make(chan struct{})
		var once sync.Once
		y := new(obj)
		var wg sync.WaitGroup
		wg.Go(func() {
			Retire(d, x, func(o *obj) { o.freed.Add(1) })
			Retire(d, y, func(o *obj) { // a slow free function (closing a file, say)
				o.freed.Add(1)
				once.Do(func() { close(inFree) })
				<-gate
			})
			for range batchSize - 2 { // the last seals the batch and scans (threshold reached)
				Retire(d, new(obj), func(*obj) {})
			}
		})
		awaitClosed(t, inFree, "y's free function")
		hp.Reset() // from now on nothing protects x
		d.Flush()
		freedByFlush := x.freed.Load()
		close(gate)
		wg.Wait()
		if freedByFlush == 0 && x.freed.Load() == 0 {
			st := d.Stats()
			t.Fatalf("round %d: Flush returned with x unreclaimed though nothing protected it when Flush was called; "+
				"and still after the scan of Retire returned: freed=%d, Pending=%d, Protecting=%d "+
				"(the scan that judged x's mixed batch put x back after it stopped counting among the judges, while running y's free function)",
				round, x.freed.Load(), st.Pending, st.Protecting)
		}
		d.Flush()
	}
}

// The same as TestFlushReclaimsKeptEntryOfMixedBatch with no free
// function that blocks: the others only take a few microseconds (a
// Gosched each). Flush runs as soon as the scan of Retire has unpinned;
// either its own drain pops the mixed batch, frees the rest and pushes x
// back, or the scan of Retire does so after Flush's take.
func TestFlushReclaimsKeptEntryOfMixedBatchNoBlocking(t *testing.T) {
	if runtime.GOMAXPROCS(0) < 2 {
		t.Skip("needs two processors")
	}
	d := New(WithThreshold(1), WithMaxBatchAge(0))
	defer d.Close()
	hp := d.Acquire()
	type obj struct{ freed atomic.Int32 }
	misses, rounds := 0, 2000
	for range rounds {
		x := new(obj)
		var src atomic.Pointer[obj]
		src.Store(x)
		if Protect(hp, &src) != x {
			t.Fatal("Protect")
		}
		src.Store(nil)
		var started atomic.Bool
		var wg sync.WaitGroup
		var done atomic.Bool
		wg.Go(func() {
			defer done.Store(true)
			Retire(d, x, func(o *obj) { o.freed.Add(1) })
			for range batchSize - 2 {
				Retire(d, new(obj), func(*obj) { started.Store(true); runtime.Gosched() })
			}
			Retire(d, new(obj), func(*obj) {}) // seals and scans
		})
		for !started.Load() && !done.Load() {
		}
		hp.Reset()
		d.Flush()
		wg.Wait()
		if x.freed.Load() == 0 {
			misses++
		}
		d.Flush()
		if x.freed.Load() != 1 {
			t.Fatal("a second Flush did not reclaim x")
		}
	}
	if misses > 0 {
		t.Fatalf("in %d of %d rounds Flush and the scan of Retire both returned with x unreclaimed and unprotected", misses, rounds)
	}
}

// awaitClosed waits for ch to be closed by what it names, failing the test
// after 10 s.
func awaitClosed(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(10 * time.Second):
		t.Fatal(what + " never ran")
	}
}
