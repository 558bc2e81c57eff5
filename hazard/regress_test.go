package hazard_test

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/go-reclaim/reclaim/hazard"
)

// liveness is how long a test waits for a call that must return promptly
// before it declares it stuck: generous, so that it never expires in a
// passing run.
const liveness = 10 * time.Second

// returnsWithin runs f on its own goroutine and fails the test if it has
// not returned within liveness.
func returnsWithin(t *testing.T, what string, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		f()
	}()
	select {
	case <-done:
	case <-time.After(liveness):
		require.FailNow(t, what+" did not return within "+liveness.String())
	}
}

// barrierTimesOut checks that a Barrier with a short deadline returns
// context.DeadlineExceeded, and promptly.
func barrierTimesOut(t *testing.T, d *hazard.Domain, what string) {
	t.Helper()
	var err error
	returnsWithin(t, what, func() {
		ctx, cancel := shortCtx(t)
		defer cancel()
		err = d.Barrier(ctx)
	})
	require.ErrorIs(t, err, context.DeadlineExceeded)
}

// protectUnlinked makes an object, protects it through a new Pointer of d
// as a reader would, and unlinks it, ready to be retired.
func protectUnlinked(t *testing.T, d *hazard.Domain) (*int, *hazard.Pointer) {
	t.Helper()
	var src atomic.Pointer[int]
	x := new(int)
	src.Store(x)
	hp := d.Acquire()
	require.Same(t, x, hazard.Protect(hp, &src))
	src.Store(nil)
	return x, hp
}

// stuckScan makes another goroutine run a free function that blocks: it
// retires a blocker, then fillers (the domain must scan on every sealed
// batch, WithThreshold(1)) until a scan runs the blocker's free function.
// It returns once the free function has started; unblock lets it return
// (after running then, if not nil) and waits for the retiring goroutine.
func stuckScan(t *testing.T, d *hazard.Domain, before ...*trackedObj) (blocker *trackedObj, unblock func(then func())) {
	t.Helper()
	blocker = &trackedObj{}
	entered, release := make(chan struct{}), make(chan func())
	var done sync.WaitGroup
	done.Go(func() {
		defer func() { _ = recover() }() // the free function may panic on purpose
		hazard.Retire(d, blocker, func(o *trackedObj) {
			o.freed.Add(1)
			close(entered)
			if then := <-release; then != nil {
				then()
			}
		})
		for _, o := range before {
			hazard.Retire(d, o, freeObj)
		}
		for {
			select {
			case <-entered:
				return
			default:
			}
			hazard.Retire(d, new(int), func(*int) {})
		}
	})
	select {
	case <-entered:
	case <-time.After(liveness):
		require.FailNow(t, "no scan ran the blocking free function")
	}
	return blocker, func(then func()) {
		release <- then
		done.Wait()
	}
}

// TestBarrierHonoursContextWhileScanStuck is the regression test for issue
// 12 item 3: a scan on another goroutine runs a free function that blocks,
// and a Barrier with a 20 ms deadline waited for it (2 s in the report)
// and then returned nil. It must return ctx.Err() promptly, since the
// stuck scan holds objects retired before it.
func TestBarrierHonoursContextWhileScanStuck(t *testing.T) {
	d := hazard.New(hazard.WithThreshold(1), hazard.WithMaxBatchAge(0))
	blocker, unblock := stuckScan(t, d)
	barrierTimesOut(t, d, "Barrier with a 20 ms deadline")
	unblock(nil)
	require.NoError(t, d.Barrier(waitCtx(t)))
	require.EqualValues(t, 1, blocker.freed.Load())
	require.NoError(t, d.Close())
}

// A Barrier that waits for a stuck scan holds the right to take the sealed
// list; a second Barrier waited for that right (barrierMu) without looking
// at its context.
func TestBarrierHonoursContextBehindBarrier(t *testing.T) {
	d := hazard.New(hazard.WithThreshold(1), hazard.WithMaxBatchAge(0))
	_, unblock := stuckScan(t, d)
	cur := hazard.SealedCur(d)
	first, cancelFirst := context.WithCancel(t.Context())
	firstErr := make(chan error, 1)
	go func() { firstErr <- d.Barrier(first) }()
	for hazard.SealedCur(d) == cur { // the first Barrier switched lists: it waits for the scan
		runtime.Gosched()
	}
	barrierTimesOut(t, d, "Barrier behind a waiting Barrier")
	cancelFirst()
	unblock(nil)
	select {
	case err := <-firstErr:
		// nil if it saw the scan finish before it saw its context end
		if err != nil {
			require.ErrorIs(t, err, context.Canceled)
		}
	case <-time.After(liveness):
		require.FailNow(t, "the first Barrier did not return after its context was cancelled")
	}
	require.NoError(t, d.Barrier(waitCtx(t)))
	require.NoError(t, d.Close())
}

// Close has no context: while another goroutine's free function is stuck
// it must return an error promptly instead of waiting for it; once the
// free function returns, a second Close reclaims everything.
func TestCloseReturnsWhileScanStuck(t *testing.T) {
	d := hazard.New(hazard.WithThreshold(1), hazard.WithMaxBatchAge(0))
	var c objCounter
	blocker, unblock := stuckScan(t, d)
	for range 10 {
		hazard.Retire(d, c.make(), freeObj)
	}
	var err error
	returnsWithin(t, "Close while a free function is stuck", func() { err = d.Close() })
	require.Error(t, err)
	t.Log(err)
	c.requireFreed(t) // what the stuck scan does not hold is reclaimed
	unblock(nil)
	require.NoError(t, d.Close())
	require.EqualValues(t, 1, blocker.freed.Load())
	st := d.Stats()
	require.Equal(t, st.Retired, st.Reclaimed)
}

// Issue 12 item 8: a scan's free function panics while a Barrier waits for
// that scan; the scan put what it had not reclaimed on the list that was
// current by then, which the Barrier does not take, and the Barrier
// returned nil with an object retired before it still pending.
func TestBarrierAfterPanicInConcurrentScan(t *testing.T) {
	d := hazard.New(hazard.WithThreshold(1), hazard.WithMaxBatchAge(0)) // the panic reaches the retiring goroutine
	// x is protected while the scan looks at it, so the scan keeps it
	// whatever the order in which it meets x and the blocker.
	x := &trackedObj{}
	var src atomic.Pointer[trackedObj]
	src.Store(x)
	hp := d.Acquire()
	require.Same(t, x, hazard.Protect(hp, &src))
	src.Store(nil)
	_, unblock := stuckScan(t, d, x)
	hp.Release() // x is no longer protected: a Barrier must reclaim it

	cur := hazard.SealedCur(d)
	res := make(chan error, 1)
	go func() { res <- d.Barrier(waitCtx(t)) }()
	for hazard.SealedCur(d) == cur { // the Barrier switched lists: it waits for the scan
		runtime.Gosched()
	}
	unblock(func() { panic("free failed") })
	select {
	case err := <-res:
		require.NoError(t, err)
	case <-time.After(liveness):
		require.FailNow(t, "Barrier did not return")
	}
	require.EqualValues(t, 1, x.freed.Load(), "Barrier returned nil with x, retired before it, still pending")
	require.NoError(t, d.Close())
}

// Issue 12 item 8: Close called from a free function hung (it waited for
// the scan, or the Barrier, that runs it). Now it returns at once, with
// ErrBusy (the reclamation that runs it holds at least its own object),
// and a later Close returns nil.
func TestCloseFromFreeFunction(t *testing.T) {
	var ran atomic.Bool
	for _, tc := range []struct {
		name string
		age  time.Duration // the free function runs in run, or (age > 0) on the timer
		run  func(d *hazard.Domain)
	}{
		{"Barrier", 0, func(d *hazard.Domain) { _ = d.Barrier(waitCtx(t)) }},
		{"Retire", 0, func(d *hazard.Domain) {
			for !ran.Load() {
				hazard.Retire(d, new(int), func(*int) {})
			}
		}},
		{"timer", time.Millisecond, func(*hazard.Domain) {
			for !ran.Load() {
				time.Sleep(time.Millisecond)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ran.Store(false)
			d := hazard.New(hazard.WithThreshold(1), hazard.WithMaxBatchAge(tc.age))
			var c objCounter
			for range 10 {
				hazard.Retire(d, c.make(), freeObj)
			}
			closer := c.make()
			var nested error
			hazard.Retire(d, closer, func(o *trackedObj) {
				o.freed.Add(1)
				nested = d.Close()
				ran.Store(true)
			})
			returnsWithin(t, "a free function that calls Close", func() { tc.run(d) })
			require.True(t, ran.Load())
			require.ErrorIs(t, nested, hazard.ErrBusy, "the scan that runs Close holds objects")
			t.Log(nested)
			returnsWithin(t, "Close", func() { require.NoError(t, d.Close()) })
			c.requireFreed(t)
		})
	}
}

// Issue 12 item 8: Slots counted the slots created, and a released slot
// stays in its processor's cache, so a goroutine that migrates creates
// another: the threshold, 2 per slot, grew with slots nobody held.
func TestThresholdCountsHeldPointers(t *testing.T) {
	if runtime.GOMAXPROCS(0) < 2 {
		t.Skip("needs two processors")
	}
	d := hazard.New(hazard.WithThreshold(1))
	// One goroutine acquires and releases, sleeping in between so that it
	// wakes up on either processor: at most one Pointer is ever held.
	for i := 0; d.Stats().Slots < 2; i++ {
		if i == 100_000 {
			t.Skip("the goroutine never changed processors")
		}
		d.Acquire().Release()
		time.Sleep(time.Microsecond)
	}
	hp := d.Acquire()
	st := d.Stats()
	require.GreaterOrEqual(t, st.Slots, 2)
	require.Equal(t, 2, st.Threshold, "one Pointer held: max(1, 2 × 1)")
	require.Equal(t, 2, d.Threshold())
	hp.Release()
	require.NoError(t, d.Close())
}

// Issue 12 item 9: an object is counted as retired when Retire is called,
// not when its processor's batch fills.
func TestStatsCountRetiredAtRetire(t *testing.T) {
	d := hazard.New(hazard.WithMaxBatchAge(0)) // nothing reclaims before Close
	for range 5 {
		hazard.Retire(d, new(int), func(*int) {})
	}
	st := d.Stats()
	require.EqualValues(t, 5, st.Retired)
	require.EqualValues(t, 5, st.Pending)
	require.GreaterOrEqual(t, st.PeakPending, st.Pending)
	require.NoError(t, d.Close())
	st = d.Stats()
	require.EqualValues(t, 5, st.Reclaimed)
	require.Zero(t, st.Pending)
}

// Close tells that it runs inside a free function by the sweep's frame on
// the goroutine's stack, however deep (here under nested scans of a chain
// of free functions that retire), and not outside one.
func TestCalledFromFree(t *testing.T) {
	require.False(t, hazard.CalledFromFree())
	d := hazard.New(hazard.WithThreshold(1), hazard.WithMaxBatchAge(0))
	var inside, outside atomic.Int32
	var deep func(n int) bool
	deep = func(n int) bool { // grow the stack past one buffer of frames
		if n == 0 {
			return hazard.CalledFromFree()
		}
		return deep(n - 1)
	}
	root, all := retireChain(300)
	var f func(*retireNode)
	f = func(n *retireNode) {
		n.freed.Add(1)
		if deep(50) {
			inside.Add(1)
		} else {
			outside.Add(1)
		}
		for _, k := range n.kids {
			hazard.Retire(d, k, f)
		}
	}
	hazard.Retire(d, root, f)
	require.NoError(t, d.Close())
	requireNodesFreed(t, all)
	require.EqualValues(t, len(all), inside.Load())
	require.Zero(t, outside.Load())
	require.False(t, deep(100))
}

// Free functions that Flush runs after Close returned ErrProtected may
// Retire, as those that Close runs may: nothing is lost, and the next
// Close reclaims what they retired. (Flush ran them on a closed Domain
// with no drain, so their Retire panicked and the child was lost.)
func TestFlushAfterCloseLetsFreeFunctionsRetire(t *testing.T) {
	d := hazard.New(hazard.WithMaxBatchAge(0))
	type node struct{ child *node }
	var freed atomic.Int32
	freeChild := func(*node) { freed.Add(1) }
	parent := &node{child: &node{}}
	var src atomic.Pointer[node]
	src.Store(parent)
	hp := d.Acquire()
	hazard.Protect(hp, &src)
	src.Store(nil)
	hazard.Retire(d, parent, func(p *node) {
		freed.Add(1)
		hazard.Retire(d, p.child, freeChild) // as a tree releases a subtree
	})
	require.ErrorIs(t, d.Close(), hazard.ErrProtected)
	hp.Release()
	d.Flush()
	require.NoError(t, d.Close())
	require.Equal(t, int32(2), freed.Load(), "every free function ran, the child's too")
	require.Zero(t, d.Stats().Pending)
}
