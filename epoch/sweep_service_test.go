package epoch_test

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/go-reclaim/reclaim/epoch"
)

// A goroutine that finds other goroutines' sweep requests when it lets go
// of the reclaiming lock sweeps for them a bounded number of times, then
// leaves the rest to the aging timer. It used to sweep for as long as
// requests came: a Close in the collector's race tests hung for a minute
// serving the Flushes of goroutines that would stop only once it returned.
// Here each free function of a chain retires the next link and has another
// goroutine Flush while the sweep that runs it holds the lock: the first
// Flush swept the whole chain before it returned. (A chain that Flushes
// from its own free functions is still drained by the Flush that started
// it: TestFlushFromFreeFunctionsKeepsTheStackFlat.)
func TestFlushDoesNotSweepForOthersForEver(t *testing.T) {
	c := newCollector(epoch.WithMaxBatchAge(time.Millisecond))
	const links = 1000
	flush, flushed, done := make(chan struct{}), make(chan struct{}), make(chan struct{})
	defer close(done)
	go func() {
		for {
			select {
			case <-flush:
				c.Flush() // the lock is held: a request for the holder
				flushed <- struct{}{}
			case <-done:
				return
			}
		}
	}()
	var freed atomic.Int64
	var free func(*int)
	free = func(*int) {
		if freed.Add(1) < links {
			g := c.Enter()
			epoch.Retire(g, new(int), free)
			g.Exit()
			select {
			case flush <- struct{}{}:
				<-flushed
			default: // the other goroutine's Flush runs this free function, or it is done
			}
		}
	}
	g := c.Enter()
	epoch.Retire(g, new(int), free)
	g.Exit()
	c.Flush()
	require.Less(t, freed.Load(), int64(10), "Flush swept for another goroutine's requests before it returned")
	require.Eventually(t, func() bool { return freed.Load() == links },
		10*time.Second, time.Millisecond, "the aging timer serves the requests left")
	require.NoError(t, c.Close())
}
