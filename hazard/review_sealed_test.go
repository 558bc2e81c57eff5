package hazard

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/go-reclaim/reclaim/internal/fencetest"
	"github.com/go-reclaim/reclaim/internal/pin"
	"github.com/go-reclaim/reclaim/internal/retire"
	"github.com/stretchr/testify/require"
)

// A scan of Retire that entered l0 as the current list before a Barrier
// switched away from it, and that starts judging only after a taker
// (here a Flush's sweepStale, whose wait for the users ends at once) has
// flipped l0's phase in awaitJudges, must take nothing (mayScan): it
// would otherwise take batches before the taker's TakeAll and, judging by
// a shared fence older than their seal, put them back after it, so the
// Flush returns with x unreclaimed though nothing ever protected it.
//
//	R: Retire(x) sealed {x}: enters l0           S: a Retire's scan, enters l0
//	B: Barrier(ctx ended): stale = l0, cur = l1, gives up on R and S
//	R: pushes {x} on l0, leaves
//	F: Flush: sweepStale takes the taker, takeStale: S uses l0 (would
//	   wait), taken: awaitJudges flips l0's phase, readyBack (held here)
//	S: startJudging, mayScan(l0)?  <- must be false: a taker is taking l0
//	F: TakeAll, sweepBack, returns  <- x must be reclaimed by now
func TestScanThatEnteredBeforeASwitchTakesNothingFromATakersList(t *testing.T) {
	fencetest.SkipUnlessAsymmetric(t)
	d := New(WithThreshold(1<<20), WithMaxBatchAge(0))
	x := new(flushObj)
	r := d.sealed.enter() // R
	s := d.sealed.enter() // S
	require.Same(t, r, s)
	l0 := s

	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	require.ErrorIs(t, d.Barrier(canceled), context.Canceled)
	require.Equal(t, uint32(1+l0.index(d)), d.sealed.stale.Load())
	pushLate(t, d, r, retire.Of(x, freeFlushObj)) // Retire(x) returns
	d.heavy.SetLastStart(math.MaxInt64)           // S shares the newest fence: none covers x

	l0.readyMu.Lock() // F stops in readyBack, after its phase flip
	phase := l0.phase.Load()
	flushed := make(chan struct{})
	go func() { defer close(flushed); d.Flush() }() // F
	for deadline := time.Now().Add(5 * time.Second); l0.phase.Load() == phase; {
		if time.Now().After(deadline) {
			l0.readyMu.Unlock()
			t.Fatal("F never flipped l0's phase")
		}
		time.Sleep(50 * time.Microsecond)
	}

	sw := d.sweeper() // S, as scanOnce
	sw.phase = l0.startJudging()
	var list *retire.Batch
	if d.sealed.mayScan(l0) {
		list = l0.TakeAll()
	}
	l0.readyMu.Unlock()
	<-flushed
	missed := x.freed.Load() == 0
	pin.Pin()
	d.sweep(sw, list, l0, false, 0)
	s.leave()

	require.NoError(t, d.Close())
	require.Equal(t, int32(1), x.freed.Load())
	require.False(t, missed, "Flush returned with x unreclaimed, though nothing protected it: "+
		"a scan that entered the list before the switch took x after the taker's phase flip")
}

// A Barrier whose wait for the stale list's users ends must not go on to
// switch lists (takeOld requires no stale list): the stale list would
// become current and the Barrier, finding the old list idle, would return
// nil while a free function of an object retired before it still runs.
//
//	U: Flush: takes {a} from l0, a's free function blocks   (users(l0)=1)
//	B1: Barrier(ctx ended): stale = l0, cur = l1, gives up on U
//	B2: Barrier(20 ms): takeStale waits for U until ctx ends  <- ctx.Err()
func TestBarrierWhoseStaleListWaitEndsReturnsItsError(t *testing.T) {
	d := New(WithThreshold(1<<20), WithMaxBatchAge(0))
	l0, a, finishU := stuckFlush(t, d)
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	require.ErrorIs(t, d.Barrier(canceled), context.Canceled) // B1
	require.Equal(t, uint32(1+l0.index(d)), d.sealed.stale.Load())

	ctx, cancel2 := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel2()
	err := d.Barrier(ctx) // B2
	freed := a.freed.Load()
	finishU()
	require.ErrorIs(t, err, context.DeadlineExceeded,
		"a Barrier returned %v while a's free function (a retired before it) had not returned (freed=%d)", err, freed)
	require.NoError(t, d.Barrier(context.Background()))
	require.Equal(t, int32(1), a.freed.Load())
	require.NoError(t, d.Close())
}
