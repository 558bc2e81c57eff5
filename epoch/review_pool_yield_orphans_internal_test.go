package epoch

import (
	"math"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// With no orphans (orphansFrom is MaxUint64) adoptOrphan must answer
// without the Pool's lock: that is the bound's common case. expiredAt
// computes tag+2, which wraps for MaxUint64 (to 1, and every epoch is at
// least 1), so the lock-free early return never fires when there are no
// orphans at all and every classic refill that finds its own sealed
// batches unexpired still takes p.mu.
func TestReviewAdoptOrphanWithoutOrphansSkipsTheLock(t *testing.T) {
	c := New(WithMaxBatchAge(0))
	defer func() { require.NoError(t, c.Close()) }()
	p := NewPool[int](c)
	require.EqualValues(t, uint64(math.MaxUint64), p.orphansFrom.Load())
	for _, e := range []uint64{1, 2, 3, 1 << 40} {
		p.mu.Lock()
		done := make(chan *nodeBatch[int])
		go func() { done <- p.adoptOrphan(e) }()
		select {
		case b := <-done:
			require.Nil(t, b)
		case <-time.After(2 * time.Second):
			p.mu.Unlock()
			<-done
			t.Fatalf("adoptOrphan(%d) with no orphans waited for the Pool's lock (orphansFrom = MaxUint64, expiredAt(MaxUint64, %d) = %v)",
				e, e, expiredAt(math.MaxUint64, e))
		}
		p.mu.Unlock()
	}
}

// A batch that a flush request moves from a slot to the orphans must lower
// the bound itself: here the slot is busy during Flush and honours the
// request in Exit, after Flush's sweep, so no reclaimOrphans put-back
// lowers it. Else a later Get on another slot reads "nothing waits", does
// not try to advance, and allocates instead of adopting the batch once its
// grace period can be over (with the adoptOrphan fix for MaxUint64, for
// ever: until the next sweep).
func TestReviewGetAdoptsABatchOrphanedInExit(t *testing.T) {
	c := New(WithBatchSize(1), WithMaxBatchAge(0)) // classic
	p := NewPool[int](c)
	old := c.Enter() // holds the epoch at most one step ahead of it
	h1 := c.Register()
	g := h1.Enter()
	x := p.Get(g)
	p.Retire(g, x) // sealed in h1's slot
	c.Flush()      // h1's slot is busy: it flushes itself in Exit
	g.Exit()       // orphans the sealed batch; nothing judges it
	h1.Unregister()
	p.mu.Lock()
	n := len(p.orphans)
	p.mu.Unlock()
	require.Equal(t, 1, n, "Exit honoured the flush request")
	old.Exit()

	h2 := c.Register()
	for range 3 {
		g = h2.Enter()
		y := p.Get(g) // may advance the epoch itself: nothing else holds it back
		g.Exit()
		if y == x {
			h2.Unregister()
			require.NoError(t, c.Close())
			return
		}
	}
	t.Fatal("Get allocated instead of adopting the orphan whose grace period it could end")
}

// Concurrent orphaning (as flushSlot does, under mu), adoption at moving
// epochs (refills, the bound read without mu) and judging (reclaimOrphans,
// which takes the orphans out of the lock): every batch is adopted,
// reclaimed or left an orphan exactly once, and once the goroutines stop
// the bound is at most every orphan's tag, so that adoptOrphan still finds
// every expired one.
func TestReviewOrphansFromUnderConcurrency(t *testing.T) {
	c := New(WithMaxBatchAge(0))
	var seen sync.Map // *int -> struct{}
	var dup, early atomic.Bool
	var judging atomic.Bool
	p := NewPool[int](c, OnReclaim(func(x *int) {
		if _, loaded := seen.LoadOrStore(x, struct{}{}); loaded {
			dup.Store(true)
		}
		if judging.Load() {
			runtime.Gosched() // widen reclaimOrphans' window out of the lock
		}
	}))
	var clock atomic.Uint64 // the epochs the goroutines pretend to be at
	clock.Store(3)
	var added atomic.Int64
	var adopted []*nodeBatch[int]
	var adoptedMu sync.Mutex
	var stop atomic.Bool
	var wg sync.WaitGroup
	for w := range 2 {
		wg.Go(func() { // orphaners: tags near the clock, some behind
			rng := rand.New(rand.NewPCG(uint64(w), 1))
			for !stop.Load() {
				tag := clock.Load() - uint64(rng.IntN(3))
				addOrphans(p, tag)
				added.Add(1)
			}
		})
	}
	wg.Go(func() { // adopters
		rng := rand.New(rand.NewPCG(9, 9))
		for !stop.Load() {
			e := clock.Load() + uint64(rng.IntN(2))
			if b := p.adoptOrphan(e); b != nil {
				if !expiredAt(b.epoch, e) {
					early.Store(true)
				}
				adoptedMu.Lock()
				adopted = append(adopted, b)
				adoptedMu.Unlock()
			}
		}
	})
	wg.Go(func() { // the judge, and the clock
		for !stop.Load() {
			judging.Store(true)
			p.reclaimOrphans(grace{epoch: clock.Load() - 1})
			judging.Store(false)
			clock.Add(1)
			runtime.Gosched()
		}
	})
	time.Sleep(300 * time.Millisecond)
	stop.Store(true)
	wg.Wait()
	require.False(t, dup.Load(), "a node reclaimed twice")
	require.False(t, early.Load(), "adoptOrphan took a batch before its grace period was over")

	p.mu.Lock()
	left := len(p.orphans)
	from := p.orphansFrom.Load()
	for _, b := range p.orphans {
		require.LessOrEqual(t, from, b.epoch, "orphansFrom above an orphan's tag once quiet")
	}
	p.mu.Unlock()
	far := clock.Load() + 10
	for range left {
		require.NotNil(t, p.adoptOrphan(far), "an expired orphan hidden from adoptOrphan")
	}
	require.Nil(t, p.adoptOrphan(far))
	require.Empty(t, p.orphans)
	reclaimed := 0
	seen.Range(func(any, any) bool { reclaimed++; return true })
	require.EqualValues(t, added.Load(), reclaimed, "batches lost: neither adopted, reclaimed nor left")
	require.NoError(t, c.Close())
}
