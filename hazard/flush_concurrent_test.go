package hazard

import (
	"math"
	"testing"

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
func TestFlushWaitsForAScanThatSawAProtection(t *testing.T) {
	d, hp, midScan := wideDomain(t)
	caught := 0 // rounds where Flush began while the scan held x's batch
	early := 0  // rounds where the scan ended before the test saw it start
	for round := range 50 {
		x := new(flushObj)
		protectUnlinked(t, hp, x)
		retireSealed(t, d, x)
		l, wait, running := scanOfRetire(d)
		if !running {
			early++
			d.Flush()
			continue
		}
		spinFor(midScan) // S has read slot 0 (x protected) and reads the idle slots
		hp.Reset()       // from now on nothing protects x
		if judging(l) {
			caught++ // S still holds x's batch
		}
		d.Flush()
		midScan = midScanOf(midScan, wait())
		requireReclaimed(t, d, round, x, "Flush and the concurrent scan both returned with x unreclaimed, though no hazard pointer "+
			"protected it when Flush was called (the scan had taken x's batch, saw x protected, and put it back after Flush's take)")
	}
	t.Logf("Flush began while the scan held x's batch in %d rounds of 50 (the scan ended too soon in %d)", caught, early)
	require.Positive(t, caught, "the race this test is about never happened")
}

// The same with no protection at all (asymmetric fences only): the
// concurrent scan of Retire judges by the newest shared fence, which began
// before x's batch was sealed, so it keeps the batch whole (KeepBatch) and
// puts it back; Flush, which runs a fence of its own, must reclaim x.
func TestFlushWaitsForAScanThatKeptABatchWhole(t *testing.T) {
	fencetest.SkipUnlessAsymmetric(t)
	d, _, _ := wideDomain(t)
	caught := 0 // rounds where Flush began while the scan held x's batch
	early := 0  // rounds where the scan ended before the test saw it start
	for round := range 50 {
		d.heavy.Fence(&d.seq, 0, true)
		d.heavy.SetLastStart(math.MaxInt64) // a shared fence "just began": scans of Retire share it
		x := new(flushObj)
		retireSealed(t, d, x)
		l, wait, running := scanOfRetire(d)
		if !running {
			early++
			d.Flush()
			continue
		}
		if judging(l) {
			caught++
		}
		d.Flush()
		wait()
		requireReclaimed(t, d, round, x, "Flush and the concurrent scan both returned with x unreclaimed and never protected "+
			"(the scan had taken its batch and kept it whole)")
	}
	t.Logf("Flush began while the scan held x's batch in %d rounds of 50 (the scan ended too soon in %d)", caught, early)
	require.Positive(t, caught, "the race this test is about never happened")
}
