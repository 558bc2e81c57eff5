package hazard

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
)

// A scan S of Retire that took x's batch from list 0 and keeps it (it read
// the slots before the protection ended) may be left on a stale list: a
// Barrier whose context ended while S still used list 0 switches to list
// 1, takes list 0 and marks it stale. Flush then scans list 1 (alone:
// nothing there) and sweeps the stale list. Taking a list used not to wait
// for its judges: the Barrier and sweepStale took list 0 before S put x
// back, Flush returned, and nothing reclaimed x until some later Flush,
// Barrier or Close. Takes of the old and stale lists now wait for the
// judges (pinned, microseconds).
//
//	R: Protect(x)                 S: enter l0, pin, TakeAll {B(x)}, fence,
//	                                 reads slot 0: x protected
//	R: Reset                      S: (still reading the idle slots, pinned)
//	B: Barrier(ctx ended): cur = l1, waitIdle(l0) gives up, stale = l0,
//	   takes l0 (empty), returns ctx.Err()
//	F: Flush: scan(true) on l1: nothing, alone; sweepStale: takeStale
//	   gives up on S at once, takes l0 (empty); returns
//	                              S: keeps x, pushes B(x) back on l0, leaves
//
// The Barrier's context is already canceled here; a Barrier with a
// deadline that ends while a scan of list 0 runs a slow free function, or
// a Close called from a free function (which never waits), leaves a stale
// list the same way.
func TestFlushReclaimsWhatAScanOfAStaleListKept(t *testing.T) {
	d, hp, midScan := wideDomain(t)
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	caught := 0
	for round := range 50 {
		x := new(flushObj)
		protectUnlinked(t, hp, x)
		retireSealed(t, d, x)
		l, wait, running := scanOfRetire(d)
		if !running {
			d.Flush()
			continue
		}
		spinFor(midScan) // S has read slot 0 (x protected) and reads the idle slots
		hp.Reset()       // from now on nothing protects x
		if judging(l) {
			caught++
		}
		_ = d.Barrier(canceled) // leaves l stale if S still uses it
		d.Flush()
		midScan = midScanOf(midScan, wait())
		requireReclaimed(t, d, round, x, "Flush and the concurrent scan both returned with x unreclaimed, though nothing protected it "+
			"when Flush was called (the scan kept x and put it back on the list a Barrier had left stale)")
		d.Flush() // sweeps the stale list for the next round
	}
	t.Logf("the scan held x's batch at the Barrier in %d rounds of 50", caught)
	require.Positive(t, caught, "the race this test is about never happened")
}
