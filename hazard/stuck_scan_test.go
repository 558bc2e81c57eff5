package hazard_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/go-reclaim/reclaim/hazard"
)

// scanThreshold is the threshold of the domains below: a scan takes at
// least this many objects, many times what it may hold back while stuck.
const scanThreshold = 16 * 64

// retireUntilScan retires new objects of c from a new goroutine, each
// with free, until a free function has run, and returns a function that
// waits for that goroutine. The first free function to run is on that
// goroutine: no other goroutine retires, scans or flushes meanwhile, and
// the domain has no aging timer.
func retireUntilScan(t *testing.T, d *hazard.Domain, c *objCounter, free func(*trackedObj)) (wait func()) {
	t.Helper()
	objs := make([]*trackedObj, 0, 4*scanThreshold)
	for range cap(objs) {
		objs = append(objs, c.make())
	}
	var ran atomic.Bool
	var retirer sync.WaitGroup
	retirer.Go(func() {
		defer func() { _ = recover() }() // free may panic on purpose
		for _, o := range objs {
			hazard.Retire(d, o, func(o *trackedObj) {
				ran.Store(true)
				free(o)
			})
			if ran.Load() {
				return
			}
		}
		t.Error("no scan ran a free function")
	})
	return retirer.Wait
}

// stickScan makes the scan that retireUntilScan starts block in the first
// free function it runs, and returns once it does; unblock lets it go on
// and waits for its goroutine.
func stickScan(t *testing.T, d *hazard.Domain, c *objCounter) (unblock func()) {
	t.Helper()
	entered, release := make(chan struct{}), make(chan struct{})
	var first atomic.Bool
	wait := retireUntilScan(t, d, c, func(o *trackedObj) {
		o.freed.Add(1)
		if first.CompareAndSwap(false, true) {
			close(entered)
			<-release
		}
	})
	select {
	case <-entered:
	case <-time.After(liveness):
		require.FailNow(t, "no scan ran the blocking free function")
	}
	return func() {
		close(release)
		wait()
	}
}

// requireFewHeldBack checks that no more than the stuck scan's batches are
// pending, and returns how many objects were retired.
func requireFewHeldBack(t *testing.T, d *hazard.Domain) (retired uint64) {
	t.Helper()
	st := d.Stats()
	require.GreaterOrEqual(t, st.Retired, uint64(scanThreshold), "the stuck scan took a threshold's worth")
	require.LessOrEqual(t, st.Pending, uint64(hazard.DrainBatches*64),
		"objects held back while a scan is stuck in a free function (retired %d)", st.Retired)
	return st.Retired
}

// requireEachFreedOnce checks, after a Barrier, that the first retired
// objects of c were each freed exactly once, and closes d.
func requireEachFreedOnce(t *testing.T, d *hazard.Domain, c *objCounter, retired uint64) {
	t.Helper()
	require.NoError(t, d.Barrier(waitCtx(t)))
	requireStats(t, d, retired, retired)
	for _, o := range c.objs[:retired] {
		require.EqualValues(t, 1, o.freed.Load(), "object %d", o.id)
	}
	_ = d.Close()
}

// A scan whose free function blocks (a stuck or descheduled scan) holds
// back only the few batches it is freeing: it judged the rest without
// giving up its processor and left them where other scans take them. Under
// Go's scheduler this is what bounds hazard pointers' pending objects with
// many goroutines: before, a scan held everything it took until it ran
// again, and with 1,024 goroutines on 2 processors the scans descheduled
// in the middle held most of what was pending (see "The bound" in the
// package documentation).
func TestStuckScanHoldsBackFewBatches(t *testing.T) {
	d := hazard.New(hazard.WithThreshold(scanThreshold), hazard.WithMaxBatchAge(0))
	var c objCounter
	unblock := stickScan(t, d, &c)
	returnsWithin(t, "Flush while a scan is stuck in a free function", d.Flush)
	retired := requireFewHeldBack(t, d)
	unblock()
	requireEachFreedOnce(t, d, &c, retired)
}

// The same when the stuck scan's list stops being current: a Barrier that
// gave up waiting for the scan, or Close, switched lists, so no new scan
// uses the stuck one's list; they take its judged batches with the rest of
// the list, and free them.
func TestStuckScanOnAStaleListHoldsBackFewBatches(t *testing.T) {
	for _, how := range []string{"Barrier+Flush", "Close"} {
		t.Run(how, func(t *testing.T) {
			d := hazard.New(hazard.WithThreshold(scanThreshold), hazard.WithMaxBatchAge(0))
			var c objCounter
			unblock := stickScan(t, d, &c)
			switch how {
			case "Barrier+Flush":
				ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
				err := d.Barrier(ctx)
				cancel()
				require.ErrorIs(t, err, context.DeadlineExceeded)
				d.Flush()
			case "Close":
				require.ErrorIs(t, d.Close(), hazard.ErrBusy)
			}
			retired := requireFewHeldBack(t, d)
			unblock()
			requireEachFreedOnce(t, d, &c, retired)
		})
	}
}

// A free function that panics leaves the batches its scan had judged and
// not yet freed: the next scan or Barrier frees each of them exactly once.
func TestPanicLeavesJudgedBatchesToOthers(t *testing.T) {
	for _, next := range []struct {
		name string
		run  func(*testing.T, *hazard.Domain)
	}{
		{"Flush", func(_ *testing.T, d *hazard.Domain) { d.Flush() }},
		{"Barrier", func(t *testing.T, d *hazard.Domain) { require.NoError(t, d.Barrier(waitCtx(t))) }},
		{"Close", func(t *testing.T, d *hazard.Domain) { require.NoError(t, d.Close()) }},
	} {
		t.Run(next.name, func(t *testing.T) {
			d := hazard.New(hazard.WithThreshold(scanThreshold), hazard.WithMaxBatchAge(0))
			var c objCounter
			var first atomic.Bool
			retireUntilScan(t, d, &c, func(o *trackedObj) {
				o.freed.Add(1)
				if first.CompareAndSwap(false, true) {
					panic("free function panics on purpose")
				}
			})()
			retired := d.Stats().Retired
			require.GreaterOrEqual(t, retired, uint64(scanThreshold))
			next.run(t, d)
			requireStats(t, d, retired, retired)
			requireEachFreedOnce(t, d, &c, retired)
		})
	}
}
