package hazard

import (
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
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

	for round := range 20 {
		x := new(flushObj)
		protectUnlinked(t, hp, x)

		inFree := make(chan struct{})
		gate := make(chan struct{})
		var once sync.Once
		var wg sync.WaitGroup
		wg.Go(func() {
			Retire(d, x, freeFlushObj)
			Retire(d, new(flushObj), func(*flushObj) { // a slow free function (closing a file, say)
				once.Do(func() { close(inFree) })
				<-gate
			})
			for range batchSize - 2 { // the last seals the batch and scans (threshold reached)
				Retire(d, new(flushObj), freeFlushObj)
			}
		})
		awaitClosed(t, inFree, "y's free function")
		hp.Reset() // from now on nothing protects x
		d.Flush()
		close(gate)
		wg.Wait()
		requireReclaimed(t, d, round, x, "Flush and the scan of Retire both returned with x unreclaimed, though nothing protected it "+
			"when Flush was called (the scan that judged x's mixed batch put x back after it stopped counting among the judges, "+
			"while running y's free function)")
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
	misses, rounds := 0, 2000
	for range rounds {
		x := new(flushObj)
		protectUnlinked(t, hp, x)
		var started atomic.Bool
		var wg sync.WaitGroup
		var done atomic.Bool
		wg.Go(func() {
			defer done.Store(true)
			Retire(d, x, freeFlushObj)
			for range batchSize - 2 {
				Retire(d, new(flushObj), func(*flushObj) { started.Store(true); runtime.Gosched() })
			}
			Retire(d, new(flushObj), freeFlushObj) // seals and scans
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
