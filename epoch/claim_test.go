package epoch_test

import (
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/go-reclaim/reclaim/epoch"
)

// claimNode is a Pool node that knows whether it is handed out.
type claimNode struct {
	out   atomic.Bool
	value atomic.Int64
}

// Collectors take idle slots to flush their batches (Flush, the aging
// tick, Barrier) while the slots' holders pin and unpin them with plain
// stores in a tight loop. If a collector ever flushed a slot whose holder
// had a guard open, the slot's Pool state would be used by both at once:
// a node handed out twice, or a node recycled while a reader that loaded
// it is still inside its guard. Both are checked on every operation. The
// race detector cannot see the asymmetric path, so this test matters most
// without -race (CI runs it both ways).
func TestClaimNeverTakesAPinnedSlot(t *testing.T) {
	c := newCollector(epoch.WithBatchSize(8))
	pool := epoch.NewPool(c, epoch.OnReclaim(func(n *claimNode) { n.value.Store(-1) }))
	var shared atomic.Pointer[claimNode]
	var workers, helpers sync.WaitGroup
	iterations := 100000
	if testing.Short() {
		iterations = 10000
	}
	for w := range 3 {
		workers.Go(func() {
			h := c.Register()
			defer h.Unregister()
			for i := range iterations {
				g := h.Enter()
				if n := epoch.Load(g, &shared); n != nil && n.value.Load() != 1 {
					t.Errorf("worker %d: loaded a node recycled under an open guard", w)
				}
				n := pool.Get(g)
				if n.out.Swap(true) {
					t.Errorf("worker %d: Pool handed out a node twice", w)
				}
				n.value.Store(1)
				if old := shared.Swap(n); old != nil {
					old.out.Store(false)
					pool.Retire(g, old)
				}
				if i%64 == 0 {
					g.Flush()
				}
				g.Exit()
				if i%4 == 0 {
					runtime.Gosched() // idle a while, so collectors claim the slot
				}
			}
		})
	}
	done := make(chan struct{})
	helpers.Go(func() { repeatUntil(done, c.Flush) })
	helpers.Go(func() { repeatUntil(done, func() { require.NoError(t, c.Barrier(t.Context())) }) })
	workers.Wait()
	close(done)
	helpers.Wait()
	if n := shared.Swap(nil); n != nil {
		g := c.Enter()
		n.out.Store(false)
		pool.Retire(g, n)
		g.Exit()
	}
	require.NoError(t, c.Close())
	require.Zero(t, c.Stats().Pending)
}

// repeatUntil calls f until done is closed.
func repeatUntil(done <-chan struct{}, f func()) {
	for {
		select {
		case <-done:
			return
		default:
			f()
		}
	}
}

// An OnReclaim that panics while a collector flushes one claimed slot must
// not leave the pass's other claims held: their holders would wait in
// Enter forever, and Barrier and Close with them (found by review).
func TestPanickingOnReclaimReleasesEveryClaim(t *testing.T) {
	c := newCollector(epoch.WithBatchSize(2), epoch.WithMaxBatchAge(0))
	var armed atomic.Bool
	pool := epoch.NewPool(c, epoch.OnReclaim(func(*claimNode) {
		if armed.CompareAndSwap(true, false) {
			panic("onreclaim boom")
		}
	}))
	h0, h1 := c.Register(), c.Register()
	g := h0.Enter()
	for range 3 { // a sealed batch and a limbo of one on h0's slot
		pool.Retire(g, pool.Get(g))
	}
	g.Exit()
	g = h1.Enter()
	for range 7 { // the epoch moves past the sealed batch's grace period
		epoch.Retire(g, new(int), func(*int) {})
	}
	g.Exit()
	armed.Store(true)
	require.PanicsWithValue(t, "onreclaim boom", c.Flush)

	entered := make(chan struct{})
	go func() {
		h1.Enter().Exit()
		close(entered)
	}()
	select {
	case <-entered:
	case <-time.After(10 * time.Second):
		t.Fatal("Enter on h1 still waits: its slot is still claimed by the pass that panicked")
	}
	h0.Unregister()
	h1.Unregister()
	require.NoError(t, c.Close())
}
