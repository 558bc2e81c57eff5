package epoch_test

import (
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/go-reclaim/reclaim/epoch"
	"github.com/go-reclaim/reclaim/internal/race"
)

// A classic Pool.Get that finds retired nodes waiting and none reusable,
// and a guard of an older epoch holding the epoch back, yields the
// processor before it allocates, so that a goroutine waiting for one can
// let the epoch move on: here, with one processor, the goroutine of that
// old guard exits it and Flushes as soon as it runs after Get has begun.
// The retired node's grace period ends during the yield, and Get returns
// it instead of a new one. (Were the other goroutine to run between the
// start of Get and its yield, only by preemption, the test would pass
// without testing the yield; it cannot fail for that.)
func TestPoolGetYieldsBeforeAllocating(t *testing.T) {
	c, p, h := onOneProcessor(t)

	var getting atomic.Bool
	entered := make(chan uint64)
	var wg sync.WaitGroup
	wg.Go(func() {
		old := c.Enter()
		entered <- c.Stats().Epoch
		for !getting.Load() {
			runtime.Gosched()
		}
		old.Exit()
		c.Flush()
	})
	e := <-entered // the old guard is pinned at e

	g := h.Enter()
	x := p.Get(g)
	p.Retire(g, x) // sealed at once, and kept in the Handle's slot
	g.Exit()
	require.LessOrEqual(t, c.Stats().Epoch, e+1, "the old guard keeps the epoch at e+1 at most")

	g = h.Enter()
	getting.Store(true)
	y := p.Get(g) // x's grace period needs the old guard gone
	g.Exit()
	wg.Wait()
	require.Same(t, x, y, "Get allocated instead of yielding for the epoch to move on")

	h.Unregister()
	require.NoError(t, c.Close())
}

// A Get whose own guard lags (entered before the last advance) does not
// yield: its guard holds the epoch back whatever other goroutines do. With
// one processor, a goroutine that marks when it runs after Get has begun
// must not have run when Get returns.
func TestPoolGetDoesNotYieldForItsOwnLaggingGuard(t *testing.T) {
	c, p, h := onOneProcessor(t)

	var getting, ran atomic.Bool
	var wg sync.WaitGroup
	wg.Go(func() {
		for !getting.Load() {
			runtime.Gosched()
		}
		ran.Store(true)
	})

	g := h.Enter()
	e := c.Stats().Epoch
	x := p.Get(g)
	p.Retire(g, x) // sealed at once; its seal advances the epoch past g's
	require.Greater(t, c.Stats().Epoch, e, "the test needs g to lag")
	getting.Store(true)
	y := p.Get(g) // nothing reusable, and g itself holds the epoch back
	require.False(t, ran.Load(), "Get yielded although its own guard held the epoch back")
	require.NotSame(t, x, y)
	g.Exit()
	wg.Wait()

	h.Unregister()
	require.NoError(t, c.Close())
}

// onOneProcessor sets GOMAXPROCS to 1 for the test and returns a classic
// Collector whose batches seal at every Retire, a Pool on it and a
// Handle. It skips the test under the race detector, which shuffles the
// run queues, so that one yield need not run a given goroutine.
func onOneProcessor(t *testing.T) (*epoch.Collector, *epoch.Pool[int64], *epoch.Handle) {
	if race.Enabled {
		t.Skip("the race detector shuffles the run queues: one yield need not run the other goroutine")
	}
	procs := runtime.GOMAXPROCS(1)
	t.Cleanup(func() { runtime.GOMAXPROCS(procs) })
	c := epoch.New(epoch.WithBatchSize(1), epoch.WithMaxBatchAge(0))
	return c, epoch.NewPool[int64](c), c.Register()
}
