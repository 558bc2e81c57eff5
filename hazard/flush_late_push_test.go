package hazard

import (
	"context"
	"testing"

	"github.com/go-reclaim/reclaim/internal/release"
	"github.com/go-reclaim/reclaim/internal/retire"
	"github.com/stretchr/testify/require"
)

// A Retire that seals a batch pushes it on the list it entered (hand, with
// its shard locked). If a Barrier switches lists in between and its
// context ends while it waits for that Retire to leave the old list, it
// marks the old list stale, takes what is there and sweeps it; the batch
// lands on the stale list after the take. A Flush called after that Retire
// returned found the batch in neither list it could reach: the current
// list does not hold it, and sweepStale gave up because the Barrier held
// the right to take lists (running a free function), though the Barrier
// would never look at that list again. Flush now scans a stale list in
// place when another goroutine holds that right.
//
//	R: Retire(x) seals {x}: enters l0                 (users(l0) = 1)
//	B: Barrier(ctx ended): cur = l1, waitIdle(l0) gives up, stale = l0,
//	   takes l0 {a}, frees a: its free function blocks
//	R: pushes {x} on l0, leaves, returns
//	F: Flush: scan(true) on l1: nothing; sweepStale: B holds the taker
//	   <- returned with x unreclaimed
//
// The test plays R's part itself, step by step (the window is a few
// nanoseconds wide in a real Retire), on the spare shard, as a Retire on
// a processor added by GOMAXPROCS would.
func TestFlushReclaimsABatchPushedOnAListABarrierLeftStale(t *testing.T) {
	d := New(WithThreshold(1<<20), WithMaxBatchAge(0))
	hp := d.Acquire()
	a, x := new(flushObj), new(flushObj)
	free, inFree, letGo := blockingFree(t)
	protectUnlinked(t, hp, a)
	Retire(d, a, free)
	require.NoError(t, d.flushShards(context.Background()))
	l := d.sealed.enter() // R: sealed {x}, about to push it on l
	hp.Reset()

	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	barrier := make(chan error, 1)
	go func() { barrier <- d.Barrier(canceled) }()
	awaitClosed(t, inFree, "the Barrier's sweep of a")
	require.Equal(t, uint32(1+l.index(d)), d.sealed.stale.Load(), "the Barrier left the list R uses stale")

	pushLate(t, d, l, retire.Of(x, freeFlushObj)) // Retire(x) returns

	d.Flush()
	requireReclaimed(t, d, 0, x, "Flush returned with x unreclaimed, though nothing protected it: "+
		"its batch sat on the list a Barrier, still running a free function, had left stale")

	letGo()
	require.ErrorIs(t, <-barrier, context.Canceled)
	require.NoError(t, d.Close())
	require.Equal(t, int32(1), a.freed.Load())
	require.Equal(t, int32(1), x.freed.Load())
}

// pushLate plays the end of a Retire that entered l (d.sealed.enter) to
// push a batch of entries it sealed, on the spare shard (as a Retire on a
// processor that GOMAXPROCS added): it pushes on l whatever l is now, and
// leaves.
func pushLate(t *testing.T, d *Domain, l *sealedList, entries ...retire.Entry) {
	t.Helper()
	spare := &d.shards[len(d.shards)-1]
	require.True(t, spare.tryLock(false))
	n := uint64(len(entries))
	release.StoreUint64(&spare.retired, spare.retired.Load()+n)
	b := d.newBatch()
	b.Entries = append(b.Entries, entries...)
	d.pending.Add(int64(n))
	b.Epoch = d.seq.Add(n)
	l.Push(b)
	l.leave()
	release.StoreUint64(&spare.handed, spare.handed.Load()+n)
	spare.unlock()
}

// index is l's position in d's sealed lists.
func (l *sealedList) index(d *Domain) int {
	if l == &d.sealed.lists[0] {
		return 0
	}
	return 1
}
