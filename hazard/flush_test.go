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

// Flush reclaims at once what no hazard pointer protects, without waiting
// for the protected object, and counts it all.
func TestFlushReclaimsUnprotected(t *testing.T) {
	d := hazard.New(hazard.WithMaxBatchAge(0)) // only Flush reclaims
	var c objCounter
	x := c.make()
	var src atomic.Pointer[trackedObj]
	src.Store(x)
	hp := d.Acquire()
	require.Same(t, x, hazard.Protect(hp, &src))
	src.Store(nil)
	hazard.Retire(d, x, freeObj)
	a, b := c.make(), c.make()
	hazard.Retire(d, a, freeObj)
	hazard.Retire(d, b, freeObj)
	requireStats(t, d, 3, 0)

	returnsWithin(t, "Flush with a protected object", d.Flush)
	c.requireFreed(t, x)
	requireStats(t, d, 3, 2)

	hp.Release()
	d.Flush()
	c.requireFreed(t)
	requireStats(t, d, 3, 3)
	require.NoError(t, d.Close())
}

// Flush waits neither for a scan whose free function is stuck, nor behind
// a Barrier that waits for it; what the stuck scan does not hold is
// reclaimed.
func TestFlushDoesNotWait(t *testing.T) {
	d := hazard.New(hazard.WithThreshold(1), hazard.WithMaxBatchAge(0))
	blocker, unblock := stuckScan(t, d)
	bctx, cancel := context.WithCancel(t.Context())
	barrier := make(chan error, 1)
	cur := hazard.SealedCur(d)
	go func() { barrier <- d.Barrier(bctx) }()
	for hazard.SealedCur(d) == cur { // the Barrier waits for the stuck scan
		time.Sleep(time.Microsecond)
	}
	var c objCounter
	for range 10 {
		hazard.Retire(d, c.make(), freeObj)
	}
	returnsWithin(t, "Flush while a scan is stuck and a Barrier waits for it", d.Flush)
	c.requireFreed(t)
	cancel()
	unblock(nil)
	<-barrier
	require.NoError(t, d.Close())
	require.EqualValues(t, 1, blocker.freed.Load())
}

// Flush may be called from a free function, whoever runs it.
func TestFlushFromFreeFunction(t *testing.T) {
	for _, tc := range []struct {
		name string
		age  time.Duration
		run  func(t *testing.T, d *hazard.Domain, ran *atomic.Bool)
	}{
		{"Flush", 0, func(_ *testing.T, d *hazard.Domain, _ *atomic.Bool) { d.Flush() }},
		{"Barrier", 0, func(t *testing.T, d *hazard.Domain, _ *atomic.Bool) { require.NoError(t, d.Barrier(waitCtx(t))) }},
		{"Close", 0, func(t *testing.T, d *hazard.Domain, _ *atomic.Bool) { require.NoError(t, d.Close()) }},
		{"Retire", 0, func(_ *testing.T, d *hazard.Domain, ran *atomic.Bool) {
			for !ran.Load() {
				hazard.Retire(d, new(int), func(*int) {})
			}
		}},
		{"timer", time.Millisecond, func(_ *testing.T, _ *hazard.Domain, ran *atomic.Bool) {
			for !ran.Load() {
				time.Sleep(time.Millisecond)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := hazard.New(hazard.WithThreshold(1), hazard.WithMaxBatchAge(tc.age))
			var c objCounter
			var ran atomic.Bool
			outer := c.make()
			hazard.Retire(d, outer, func(o *trackedObj) {
				o.freed.Add(1)
				inner := c.make()
				hazard.Retire(d, inner, freeObj)
				d.Flush() // reclaims inner, nested, unless the scan that runs us holds the right to take lists
				ran.Store(true)
			})
			returnsWithin(t, "a free function that calls Flush", func() { tc.run(t, d, &ran) })
			require.True(t, ran.Load())
			require.NoError(t, d.Close())
			c.requireFreed(t)
		})
	}
}

// flushObj is what TestStressFlushPrompt swaps: touched is set by a reader
// before it publishes the object, freed by its free function, val poisoned.
type flushObj struct {
	val     uint64
	touched atomic.Bool
	freed   atomic.Int32
}

// TestStressFlushPrompt is arc-swap's use: one writer swaps a shared
// pointer, retires the old object and calls Flush, while readers protect
// the current one. Flush's guarantee, checked after every swap: the old
// object has been reclaimed unless a reader published it (every reader
// marks an object before it publishes it, so an object the scan found
// protected is marked). Readers never see a reclaimed object (poison,
// -race) and everything is reclaimed exactly once.
func TestStressFlushPrompt(t *testing.T) {
	d := hazard.New(hazard.WithThreshold(1<<30), hazard.WithMaxBatchAge(0)) // only Flush reclaims
	var src atomic.Pointer[flushObj]
	free := func(o *flushObj) {
		if o.freed.Add(1) != 1 {
			t.Errorf("object %p reclaimed twice", o)
		}
		o.val = poison
	}
	src.Store(&flushObj{val: 1})
	deadline := time.Now().Add(stressDuration())
	var wg sync.WaitGroup
	var bad, swaps, kept atomic.Int64
	for range stressWorkers() - 1 {
		wg.Go(func() {
			hp := d.Acquire()
			defer hp.Release()
			for time.Now().Before(deadline) && bad.Load() == 0 {
				p := src.Load()
				p.touched.Store(true)
				if !hazard.TryProtect(hp, p, &src) {
					continue
				}
				if p.val == poison || p.freed.Load() != 0 {
					bad.Add(1)
					t.Errorf("reader saw a reclaimed object %p", p)
				}
				hp.Reset()
			}
		})
	}
	wg.Go(func() {
		for i := uint64(2); time.Now().Before(deadline) && bad.Load() == 0; i++ {
			old := src.Swap(&flushObj{val: i})
			hazard.Retire(d, old, free)
			d.Flush()
			swaps.Add(1)
			if old.freed.Load() == 0 {
				kept.Add(1)
				if !old.touched.Load() {
					bad.Add(1)
					t.Errorf("Flush left object %d pending, and no reader ever published it", old.val)
				}
			}
		}
	})
	wg.Wait()
	hazard.Retire(d, src.Swap(nil), free)
	require.NoError(t, d.Close())
	st := d.Stats()
	require.Equal(t, st.Retired, st.Reclaimed)
	require.EqualValues(t, swaps.Load()+1, st.Retired)
	t.Logf("%d swaps, %d left to a later Flush because a reader held them", swaps.Load(), kept.Load())
}
