package hazard

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// barrierSleeping starts Barrier(ctx) on another goroutine, lets it
// reach its longest backoff (1 ms sleeps between its sweeps, while it waits
// for a protected object), and returns right after one of its sweeps has
// put back what it kept on the current list: the test then has about a
// millisecond before the next sweep.
func barrierSleeping(t *testing.T, d *Domain, ctx context.Context) <-chan error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- d.Barrier(ctx) }()
	flips := 0
	cur := d.sealed.cur.Load()
	deadline := time.Now().Add(10 * time.Second)
	for flips < 40 { // spins=16, then 1us<<n up to 1ms: 27 sweeps
		if time.Now().After(deadline) {
			t.Fatal("Barrier does not sweep")
		}
		if c := d.sealed.cur.Load(); c != cur {
			cur = c
			flips++
		}
	}
	// The sweep that flipped cur puts back what it kept within microseconds.
	time.Sleep(200 * time.Microsecond)
	return done
}

// Barrier tells whether what it put back still holds an object retired
// before it by the batch tags (sweep's old). retire.Separate used to tag
// the batch it filled with the newest tag of the batches its entries came
// from: an object x retired before the Barrier, kept by a scan next to an
// object z sealed after the Barrier read seq, sat in a batch tagged after
// it, and Barrier returned nil with x pending. Separate now fills a batch
// with entries of one tag.
//
//	B: Barrier: last = seq (x, w sealed: tag 2); sweeps: x, w protected,
//	   kept, old -> waits (1 ms sleeps)
//	T: w's reader resets; Retire(z) (protected), Retire(u); Flush: seals
//	   {z, u} (tag 4), scan takes {z,u} and {x,w}: both doomed with one
//	   kept entry each; Separate moves z and x into one batch tagged 4
//	B: sweeps {z, x}: both protected, kept; tag 4 > last: old = false;
//	   returns nil  <- x, retired before Barrier, not reclaimed
func TestBarrierWaitsForAnObjectSeparatedWithANewerOne(t *testing.T) {
	for round := range 10 {
		d := New(WithThreshold(1<<20), WithMaxBatchAge(0))
		hx, hw, hz := d.Acquire(), d.Acquire(), d.Acquire()
		x, w, z, u := new(flushObj), new(flushObj), new(flushObj), new(flushObj)
		protectUnlinked(t, hx, x)
		protectUnlinked(t, hw, w)
		Retire(d, x, freeFlushObj)
		Retire(d, w, freeFlushObj)
		d.Flush() // {x, w}: both protected, stay pending

		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		done := barrierSleeping(t, d, ctx) // waits for x and w

		hw.Reset() // w may go
		protectUnlinked(t, hz, z)
		Retire(d, z, freeFlushObj) // retired after the Barrier began: not its business
		Retire(d, u, freeFlushObj)
		d.Flush() // w and u reclaimed; x and z kept, in one batch
		merged := w.freed.Load() == 1 && u.freed.Load() == 1

		var err error
		returned := false
		select {
		case err = <-done:
			returned = true
		case <-time.After(100 * time.Millisecond):
		}
		xFreedAtReturn := x.freed.Load()
		hx.Reset()
		hz.Reset()
		if !returned {
			err = <-done
		}
		cancel()
		d.Flush()
		if cerr := d.Close(); cerr != nil {
			t.Fatal(cerr)
		}
		if !merged {
			t.Logf("round %d: the Barrier swept between the steps; again", round)
			continue
		}
		if returned && err == nil && xFreedAtReturn == 0 {
			t.Fatalf("round %d: Barrier returned nil while x, retired and sealed before the call, was still pending "+
				"(protected); Separate had put x in one batch with z, sealed after the Barrier began, and tagged it with z's tag", round)
		}
		return // correct behavior: Barrier waited for x
	}
	t.Fatal("the Barrier swept between the steps in every round: the case this test is about never happened")
}

// A Barrier's (or Close's, or Flush's sweep of a stale list) sweep of the
// lists it took used to put back what it kept only after running the free
// functions of the rest, and did not count among any list's judges: a
// Flush called after the protection ended, while the Barrier ran a slow
// free function, found nothing on the current list, was alone, and
// returned; the Barrier then put x back and returned (x was retired after
// the Barrier read seq, so it did not wait for x). Nobody reclaimed x. The
// sweep now counts among the current list's judges and puts back what it
// keeps first (sweepBack).
//
//	B: Barrier waits (1 ms sleeps) for o (protected, retired before it)
//	T: o's reader resets; Retire(x) (protected), Retire(s) (slow free);
//	   seal {x, s}
//	B: sweep: takes {o} and {x, s}; o, s unprotected, x protected: kept;
//	   runs o's free, then s's free (blocks)
//	T: x's reader resets; Flush: current list empty, alone; returns
//	B: s's free returns; pushes {x} (tag > last) on the current list;
//	   old = false; Barrier returns nil    <- x pending, unprotected
func TestFlushReclaimsWhatABarrierKeptWhileFreeing(t *testing.T) {
	for round := range 10 {
		if flushAfterBarrierKept(t) {
			return
		}
		t.Logf("round %d: the Barrier swept o before {x, s} were on its list", round)
	}
	t.Fatal("the Barrier never held x while running s's free function")
}

// flushAfterBarrierKept runs one round of
// TestFlushReclaimsWhatABarrierKeptWhileFreeing and reports whether it
// exercised it: whether the Barrier's sweep took {x, s} (it may free o
// first, from a list that {x, s} had not reached, and return).
func flushAfterBarrierKept(t *testing.T) (exercised bool) {
	d := New(WithThreshold(1<<20), WithMaxBatchAge(0))
	defer d.Close()
	ho, hx := d.Acquire(), d.Acquire()
	o, x, s := new(flushObj), new(flushObj), new(flushObj)
	protectUnlinked(t, ho, o)
	Retire(d, o, freeFlushObj)
	d.Flush() // {o}: protected, stays pending

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	done := barrierSleeping(t, d, ctx) // waits for o

	inFree, gate := make(chan struct{}), make(chan struct{})
	protectUnlinked(t, hx, x)
	Retire(d, x, freeFlushObj) // after the Barrier began: it need not wait for x
	Retire(d, s, func(o *flushObj) { o.freed.Add(1); close(inFree); <-gate })
	if err := d.flushShards(context.Background()); err != nil { // seal {x, s}: no scan (threshold)
		t.Fatal(err)
	}
	ho.Reset() // o may go: the Barrier's next sweep takes {o} and {x, s}
	select {
	case <-inFree: // the Barrier looked at the slots (x protected) and runs s's free function
	case err := <-done:
		require.NoError(t, err)
		hx.Reset()
		close(gate) // s's free function runs in Close, and must not block it
		return false
	}
	hx.Reset() // from now on nothing protects x
	d.Flush()
	freedByFlush := x.freed.Load()
	close(gate)
	err := <-done
	st := d.Stats()
	if freedByFlush == 0 && x.freed.Load() == 0 {
		t.Fatalf("Flush returned with x unreclaimed though nothing protected it when Flush was called, and the Barrier "+
			"that held x (kept when it looked at the slots) returned %v without reclaiming it: freed=%d, Pending=%d, Protecting=%d",
			err, x.freed.Load(), st.Pending, st.Protecting)
	}
	d.Flush()
	return true
}
