package hazard

import (
	"context"
	"math"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/go-reclaim/reclaim/internal/fencetest"
)

// Flush's promise on the stale list it scans in place (scanStale): a scan
// S of that list (a scan of Retire that took x's batch before a taker
// switched away from the list) keeps the batch whole, judging by a shared
// fence older than its seal, and puts it back after Flush's take; Flush
// must wait for S and scan the stale list again (scanStale's rescan).
// The test is the taker: it switches as takeOld does, holding the right
// to take lists, so that Flush scans the old list in place, and takes the
// list once S has left.
//
//	R: x sealed on l0
//	S: scan of Retire: enters l0, takes {x}, shared fence (older than x),
//	   reads the slots (pinned, slow)
//	T: lockTaker; stale = l0, cur = l1 (takeOld's switch)
//	F: Flush: scan of l1: nothing; in-place scan of l0 takes nothing
//	   <- must wait for S and scan l0 again
//	                               S: keeps {x} whole, pushes it back on l0
//	T: take(l0) once S left
func TestFlushRescansAStaleListAfterAScanKeptABatchWhole(t *testing.T) {
	fencetest.SkipUnlessAsymmetric(t)
	d, _, _ := wideDomain(t)
	caught := 0
	for round := 0; round < 200 && caught < 5; round++ {
		d.heavy.Fence(&d.seq, 0, true)
		d.heavy.SetLastStart(math.MaxInt64) // scans of Retire share the newest fence
		x := new(flushObj)
		retireSealed(t, d, x)
		l0 := &d.sealed.lists[d.sealed.cur.Load()]

		var wg sync.WaitGroup
		var sDone atomic.Bool
		wg.Go(func() { d.scan(false); sDone.Store(true) }) // S
		for !judging(l0) && !sDone.Load() {
		}
		p := patience{ctx: context.Background()}
		if err := d.sealed.lockTaker(&p); err != nil { // T
			t.Fatal(err)
		}
		i := d.sealed.cur.Load()
		d.sealed.stale.Store(i + 1)
		d.sealed.cur.Store(1 - i)
		if judging(l0) {
			caught++
		}
		d.Flush() // F
		missed := x.freed.Load() != 1
		wg.Wait()
		list, err := d.sealed.take(l0, &p)
		if err != nil {
			t.Fatal(err)
		}
		d.sweepBack(list, 0)
		d.sealed.unlockTaker()
		if x.freed.Load() != 1 {
			t.Fatalf("round %d: x freed %d times", round, x.freed.Load())
		}
		if missed {
			t.Fatalf("round %d: Flush returned with x unreclaimed, though nothing ever protected it: a scan of the "+
				"stale list it scanned in place held x's batch, kept it whole and put it back after Flush's take", round)
		}
	}
	t.Logf("F began while S held x's batch in %d rounds", caught)
	if caught == 0 {
		t.Fatal("the race this test is about never happened")
	}
}
