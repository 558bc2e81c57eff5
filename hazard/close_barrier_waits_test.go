package hazard

import (
	"context"
	"testing"
	"time"

	"github.com/go-reclaim/reclaim/internal/retire"
	"github.com/stretchr/testify/require"
)

// staleOldListWithStuckUser sets up two takers' worth of contention: U, a
// Flush stuck in a's free function, uses l0; a Retire that entered l0
// pushes {x} there after B, a Barrier with no deadline, switched away from
// l0 (so l0 is stale and B holds the right to take lists, waiting for U).
func staleOldListWithStuckUser(t *testing.T, d *Domain) (l0 *sealedList, a, x *flushObj, barrier <-chan error, finishU func()) {
	t.Helper()
	x = new(flushObj)
	l0, a, finishU = stuckFlush(t, d)
	r := d.sealed.enter() // R
	require.Same(t, l0, r)
	barrier = barrierSwitchedFrom(t, d, l0) // B
	require.Equal(t, uint32(1+l0.index(d)), d.sealed.stale.Load())
	pushLate(t, d, r, retire.Of(x, freeFlushObj)) // Retire(x) returns
	return l0, a, x, barrier, finishU
}

// Close while a Barrier holds the right to take lists and waits, on the
// old list, for U (stuck in a free function): Close waits up to closeWait
// for that right, gives up, and reclaims what it can reach, x included
// (a batch pushed late on the list the Barrier waits on: Close scans it in
// place, as Flush does), then returns ErrBusy (U holds a). Once U returns,
// the Barrier takes the list and returns nil, and Close returns nil; each
// object is freed once.
//
//	U: Flush: takes {a} from l0, a's free function blocks (users(l0)=1)
//	R: enters l0                                           (users(l0)=2)
//	B: Barrier(Background): stale = l0, cur = l1, waits for U and R
//	R: pushes {x} on l0, leaves                            (users(l0)=1)
//	C: Close: sweepAll gives up on the right after closeWait; scan(l1),
//	   scanStale(l0) in place: frees x; ErrBusy
//	U: returns; B takes l0, returns nil; Close: nil
func TestCloseWhileABarrierWaitsForAStuckUser(t *testing.T) {
	d := New(WithThreshold(1<<20), WithMaxBatchAge(0))
	_, a, x, barrier, finishU := staleOldListWithStuckUser(t, d)

	start := time.Now()
	err := d.Close() // C
	took := time.Since(start)
	require.ErrorIs(t, err, ErrBusy, "U holds a")
	require.Less(t, took, closeWait+5*time.Second, "Close waits about closeWait at most")
	require.Equal(t, int32(1), x.freed.Load(),
		"Close returned with x unreclaimed, though nothing protected it: its batch sat on the stale list a Barrier waited on")
	require.Zero(t, a.freed.Load())

	finishUThenClose(t, d, barrier, finishU, a, x)
}

// The same with Close called from a free function (of c, run by a Flush
// of the current list): Close does not wait at all for the right to take
// lists, which the Barrier holds, reclaims x by scanning the stale list in
// place, and returns ErrBusy. Two takers (the Barrier, and Close that
// cannot become one) and a scan nested in a free function share the stale
// list; nothing is freed twice and nothing is lost.
func TestCloseFromAFreeFunctionWhileABarrierWaits(t *testing.T) {
	d := New(WithThreshold(1<<20), WithMaxBatchAge(0))
	_, a, x, barrier, finishU := staleOldListWithStuckUser(t, d)

	c := new(flushObj)
	var nested error
	var xAtClose int32
	ran := false
	Retire(d, c, func(o *flushObj) {
		freeFlushObj(o)
		start := time.Now()
		nested = d.Close()
		if time.Since(start) > closeWait/2 {
			t.Errorf("Close from a free function waited %v", time.Since(start))
		}
		xAtClose = x.freed.Load()
		ran = true
	})
	require.NoError(t, d.flushShards(context.Background())) // {c} on l1, the current list
	d.Flush()                                               // F: frees c, whose free function calls Close
	require.True(t, ran, "F ran c's free function")
	require.ErrorIs(t, nested, ErrBusy)
	require.Equal(t, int32(1), xAtClose,
		"Close from a free function returned with x unreclaimed: its batch sat on the stale list a Barrier waited on")
	require.Zero(t, a.freed.Load())
	select {
	case err := <-barrier:
		t.Fatalf("the Barrier returned (%v) while U still used l0", err)
	default:
	}

	finishUThenClose(t, d, barrier, finishU, a, x, c)
}

// finishUThenClose lets U return, expects the Barrier to return nil and
// Close to drain d, and checks that each of objs was freed exactly once.
func finishUThenClose(t *testing.T, d *Domain, barrier <-chan error, finishU func(), objs ...*flushObj) {
	t.Helper()
	finishU()
	select {
	case err := <-barrier:
		require.NoError(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("the Barrier did not return once U left")
	}
	require.NoError(t, d.Close())
	require.Zero(t, d.sealed.stale.Load())
	for _, o := range objs {
		require.Equal(t, int32(1), o.freed.Load())
	}
	st := d.Stats()
	require.Equal(t, st.Retired, st.Reclaimed)
}
