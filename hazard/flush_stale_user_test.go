package hazard

import (
	"context"
	"testing"
	"time"

	"github.com/go-reclaim/reclaim/internal/retire"
	"github.com/stretchr/testify/require"
)

// staleWithLatePush leaves list l stale, as a Barrier whose context ended
// does, with a batch of x on it that a Retire pushed after the Barrier's
// take (see TestFlushReclaimsABatchPushedOnAListABarrierLeftStale).
func staleWithLatePush(t *testing.T, d *Domain, x *flushObj) (l *sealedList) {
	t.Helper()
	l = d.sealed.enter()
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	require.ErrorIs(t, d.Barrier(canceled), context.Canceled)
	require.Equal(t, uint32(1+l.index(d)), d.sealed.stale.Load())
	pushLate(t, d, l, retire.Of(x, freeFlushObj))
	return l
}

// Flush scans a stale list in place, as one of its users, when another
// goroutine holds the right to take lists. A taker that empties the stale
// list (takeStale) must then either wait for such a user or keep it out:
// a user it neither waited for nor kept out could put back what it keeps
// (after a panicking free function, Requeue) on a list that is no longer
// stale and that nobody will take, where Flush and Barrier never find it.
// takeStale read users first and cleared stale after its wait, so a Flush
// arriving in between joined the list unseen (found by an independent
// review, with a test that played takeStale's steps in that order). It now
// clears stale before it waits, and enterStale re-reads stale after
// counting itself: here a user U holds the list while the taker T waits,
// and a scan that arrives meanwhile must find no stale list.
func TestAScanCannotJoinAStaleListATakerWaitsOn(t *testing.T) {
	d := New(WithThreshold(1<<20), WithMaxBatchAge(0))
	x := new(flushObj)
	l := staleWithLatePush(t, d, x)
	require.Same(t, l, d.sealed.enterStale(), "U joins the stale list")

	taken := make(chan error, 1)
	go func() { // T, as sweepStale or a Barrier's sweepAll
		var p patience
		p.ctx = context.Background()
		require.NoError(t, d.sealed.lockTaker(&p))
		defer d.sealed.unlockTaker()
		list, err := d.sealed.takeStale(&p)
		d.sweepBack(list, 0)
		taken <- err
	}()
	for deadline := time.Now().Add(2 * time.Second); d.sealed.stale.Load() != 0 && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
	select {
	case err := <-taken:
		t.Fatalf("the taker returned (%v) while U still used the list", err)
	default:
	}
	require.True(t, d.sealed.enterStale() == nil, "a scan joined the stale list while a taker waited for its users")
	d.Flush() // finds the right held and no stale list: leaves x to T
	require.Zero(t, x.freed.Load(), "x is T's to reclaim")

	l.leave() // U
	require.NoError(t, <-taken)
	require.Equal(t, int32(1), x.freed.Load(), "T took the list once U left")
	require.Zero(t, d.sealed.stale.Load())
	require.NoError(t, d.Close())
	require.Equal(t, int32(1), x.freed.Load())
}

// A takeStale whose wait for the users ends early leaves the list stale
// (it cleared stale before waiting), and still takes what is there.
func TestTakeStaleKeepsTheListStaleWhenItsWaitEnds(t *testing.T) {
	d := New(WithThreshold(1<<20), WithMaxBatchAge(0))
	x := new(flushObj)
	l := staleWithLatePush(t, d, x)
	stale := d.sealed.stale.Load()
	require.Same(t, l, d.sealed.enterStale(), "U joins the stale list")

	var p patience // no context: does not wait
	require.NoError(t, d.sealed.lockTaker(&p))
	list, err := d.sealed.takeStale(&p)
	require.ErrorIs(t, err, errWouldWait)
	require.Equal(t, stale, d.sealed.stale.Load(), "the list stays stale for the next taker")
	d.sweepBack(list, 0)
	d.sealed.unlockTaker()
	require.Equal(t, int32(1), x.freed.Load(), "the taker took and reclaimed x")

	l.leave() // U
	require.NoError(t, d.Close())
	require.Zero(t, d.sealed.stale.Load())
	require.Equal(t, int32(1), x.freed.Load())
}
