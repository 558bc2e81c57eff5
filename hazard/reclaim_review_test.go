package hazard_test

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/go-reclaim/reclaim/container/marked"
	"github.com/go-reclaim/reclaim/hazard"
)

// protectVia makes hp protect o through a source that is then cleared, so
// that o is unlinked and protected.
func protectVia(t *testing.T, hp *hazard.Pointer, o *reclaimObj) {
	t.Helper()
	var src atomic.Pointer[reclaimObj]
	src.Store(o)
	require.Same(t, o, hazard.Protect(hp, &src))
	src.Store(nil)
}

// Reclaim reads every slot: whichever of 150 held Pointers (spread over
// several registry buckets, the first and the last included), an Array
// element, or a marked.Pointer's TryProtect protects the object, Reclaim
// retires it rather than freeing it; once that protection is reset, the
// reused slot no longer holds it back, and a later Reclaim frees at once.
//
// Catches: protects reading only the first bucket (8 slots), stopping at
// the first non-zero slot, skipping the last slot, or Reclaim dropping a
// protected object instead of retiring it.
func TestReclaimReadsEverySlot(t *testing.T) {
	d := hazard.New(hazard.WithMaxBatchAge(0))
	const n = 150
	hps := make([]*hazard.Pointer, n)
	for i := range hps {
		hps[i] = d.Acquire()
	}
	arr := d.AcquireArray(hazard.MaxArray)
	// A decoy in an earlier slot: protects must not stop at the first
	// slot that protects something.
	decoy := &reclaimObj{val: reclaimLive}
	protectVia(t, hps[0], decoy)
	for _, i := range []int{1, 7, 8, 9, 23, 24, 56, 57, 100, n - 1} {
		o := &reclaimObj{val: reclaimLive}
		protectVia(t, hps[i], o)
		require.False(t, hazard.Reclaim(d, o, reclaimFree), "Reclaim freed an object that Pointer %d protects", i)
		require.Zero(t, o.freed.Load())
		d.Flush()
		require.Zero(t, o.freed.Load(), "Flush freed an object that Pointer %d protects", i)
		hps[i].Reset()
		d.Flush()
		require.EqualValues(t, 1, o.freed.Load(), "not freed once Pointer %d was reset", i)
		// The slot, reused, protects something else now.
		protectVia(t, hps[i], &reclaimObj{val: reclaimLive})
		o2 := &reclaimObj{val: reclaimLive}
		require.True(t, hazard.Reclaim(d, o2, reclaimFree), "Reclaim kept an object no slot holds")
		require.EqualValues(t, 1, o2.freed.Load())
		hps[i].Reset()
	}
	o := &reclaimObj{val: reclaimLive}
	protectVia(t, arr.At(hazard.MaxArray-1), o)
	require.False(t, hazard.Reclaim(d, o, reclaimFree), "the Array's last element protects it")
	arr.Release()
	d.Flush()
	require.EqualValues(t, 1, o.freed.Load())

	// A marked pointer's TryProtect publishes the unmarked address.
	var m marked.Pointer[reclaimObj]
	mo := &reclaimObj{val: reclaimLive}
	m.Store(mo, false)
	require.True(t, m.TryProtect(hps[n-1], mo))
	require.True(t, m.TryMark(mo))
	m.Store(nil, false) // unlinked
	require.False(t, hazard.Reclaim(d, mo, reclaimFree), "TryProtect's protection was missed")
	hps[n-1].Reset()

	for _, hp := range hps {
		hp.Release()
	}
	require.NoError(t, d.Close())
	require.EqualValues(t, 1, mo.freed.Load())
	require.Zero(t, decoy.freed.Load(), "the decoy was never retired")
	st := d.Stats()
	require.Equal(t, st.Retired, st.Reclaimed)
	require.Zero(t, st.Pending)
}

// Stats after a known sequence: objects freed at once count in Retired and
// Reclaimed exactly once and never in Pending or PeakPending; a protected
// one counts as pending until freed; a panicking free counts as reclaimed.
//
// Catches: atOnce counted twice or not at all, added to Reclaimed only, or
// Reclaim going through the batches (Pending/PeakPending raised).
func TestReclaimStats(t *testing.T) {
	d := hazard.New(hazard.WithMaxBatchAge(0))
	for range 5 {
		require.True(t, hazard.Reclaim(d, &reclaimObj{}, reclaimFree))
	}
	st := d.Stats()
	require.EqualValues(t, 5, st.Retired)
	require.EqualValues(t, 5, st.Reclaimed)
	require.Zero(t, st.Pending)
	require.Zero(t, st.PeakPending, "an object freed at once was counted as pending")

	hp := d.Acquire()
	p := &reclaimObj{}
	protectVia(t, hp, p)
	require.False(t, hazard.Reclaim(d, p, reclaimFree))
	st = d.Stats()
	require.EqualValues(t, 6, st.Retired)
	require.EqualValues(t, 5, st.Reclaimed)
	require.EqualValues(t, 1, st.Pending)
	require.EqualValues(t, 1, st.PeakPending)

	require.PanicsWithValue(t, "boom", func() {
		hazard.Reclaim(d, &reclaimObj{}, func(*reclaimObj) { panic("boom") })
	})
	st = d.Stats()
	require.EqualValues(t, 7, st.Retired)
	require.EqualValues(t, 6, st.Reclaimed, "a panicking free counts as reclaimed")
	require.EqualValues(t, 1, st.Pending)

	hp.Release()
	d.Flush()
	st = d.Stats()
	require.EqualValues(t, 7, st.Retired)
	require.EqualValues(t, 7, st.Reclaimed)
	require.Zero(t, st.Pending)
	require.EqualValues(t, 1, st.PeakPending)
	require.EqualValues(t, 1, p.freed.Load())
	require.NoError(t, d.Close())
}

// Stats.Reclaimed "counts objects whose free function has run (or started
// and panicked)": a scan adds to it after the free functions it ran have
// returned, and so must Reclaim, or a goroutine that waits for Reclaimed to
// reach a count (or for Retired == Reclaimed) would see an object counted
// as reclaimed while its free function has not returned (a review found
// Reclaim counting first). The scan path is checked first, as a control.
func TestReclaimCountsBeforeFreeReturns(t *testing.T) {
	d := hazard.New(hazard.WithMaxBatchAge(0))
	check := func(name string, start func(free func(*reclaimObj))) {
		t.Helper()
		entered, leave, done := make(chan struct{}), make(chan struct{}), make(chan struct{})
		free := func(o *reclaimObj) {
			close(entered)
			<-leave
			o.freed.Add(1)
		}
		before := d.Stats().Reclaimed
		go func() { defer close(done); start(free) }()
		<-entered
		st := d.Stats()
		close(leave)
		<-done
		require.Equal(t, before, st.Reclaimed,
			"%s: Stats counted an object as reclaimed while its free function had not returned (Retired %d, Reclaimed %d, Pending %d)",
			name, st.Retired, st.Reclaimed, st.Pending)
	}
	check("Retire+Flush", func(free func(*reclaimObj)) {
		hazard.Retire(d, &reclaimObj{}, free)
		d.Flush()
	})
	check("Reclaim", func(free func(*reclaimObj)) {
		hazard.Reclaim(d, &reclaimObj{}, free)
	})
	require.NoError(t, d.Close())
}

// A free function that Reclaim runs may itself Reclaim (an unprotected
// object: freed at once, nested; a protected one: retired) and Retire;
// each object is freed exactly once and Stats add up.
func TestReclaimNestedFrees(t *testing.T) {
	d := hazard.New(hazard.WithMaxBatchAge(0))
	hp := d.Acquire()
	prot := &reclaimObj{}
	protectVia(t, hp, prot)
	inner, retired := &reclaimObj{}, &reclaimObj{}
	var innerFreed bool
	outer := &reclaimObj{}
	require.True(t, hazard.Reclaim(d, outer, func(o *reclaimObj) {
		reclaimFree(o)
		innerFreed = hazard.Reclaim(d, inner, reclaimFree)
		require.False(t, hazard.Reclaim(d, prot, reclaimFree))
		hazard.Retire(d, retired, reclaimFree)
	}))
	require.True(t, innerFreed)
	require.EqualValues(t, 1, outer.freed.Load())
	require.EqualValues(t, 1, inner.freed.Load())
	require.Zero(t, prot.freed.Load())
	d.Flush()
	require.EqualValues(t, 1, retired.freed.Load())
	require.Zero(t, prot.freed.Load())
	st := d.Stats()
	require.EqualValues(t, 4, st.Retired)
	require.EqualValues(t, 3, st.Reclaimed)
	require.EqualValues(t, 1, st.Pending)
	hp.Release()
	require.NoError(t, d.Close())
	require.EqualValues(t, 1, prot.freed.Load())
}

// A free function that Close runs may Reclaim into the closed domain: an
// unprotected object is freed at once, a protected one is retired, Close
// reports it protected, and a later Close reclaims it. Outside a free
// function, Reclaim after Close panics. Barrier waits for a protected
// object Reclaim retired.
func TestReclaimAfterCloseFromFree(t *testing.T) {
	d := hazard.New(hazard.WithMaxBatchAge(0))
	hp := d.Acquire()
	prot, now := &reclaimObj{}, &reclaimObj{}
	protectVia(t, hp, prot)
	var freedNow, freedProt bool
	hazard.Retire(d, &reclaimObj{}, func(o *reclaimObj) {
		reclaimFree(o)
		freedNow = hazard.Reclaim(d, now, reclaimFree)
		freedProt = hazard.Reclaim(d, prot, reclaimFree)
	})
	err := d.Close()
	require.ErrorIs(t, err, hazard.ErrProtected)
	require.True(t, freedNow)
	require.False(t, freedProt)
	require.EqualValues(t, 1, now.freed.Load())
	require.Zero(t, prot.freed.Load())
	require.PanicsWithValue(t, "hazard: Reclaim on a closed Domain", func() { hazard.Reclaim(d, &reclaimObj{}, reclaimFree) })

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	require.ErrorIs(t, d.Barrier(ctx), context.DeadlineExceeded, "Barrier waits for the protected object Reclaim retired")
	cancel()
	hp.Release()
	require.NoError(t, d.Barrier(context.Background()))
	require.EqualValues(t, 1, prot.freed.Load())
	require.NoError(t, d.Close())
}

// Readers keep taking fresh hazard pointers (the registry grows while
// Reclaim reads it: new buckets, slots from the free list and the
// per-P caches) and protect the shared object through them, some through
// an Array element, some with TryProtect; writers swap and Reclaim. No
// reader sees a freed object; every object is freed exactly once; Stats
// add up (Retired == Reclaimed == objects, Pending 0).
func TestReclaimRacesGrowth(t *testing.T) {
	d := hazard.New(hazard.WithMaxBatchAge(time.Millisecond))
	var src atomic.Pointer[reclaimObj]
	first := &reclaimObj{val: reclaimLive}
	src.Store(first)
	var (
		mu     sync.Mutex
		all    = []*reclaimObj{first}
		bad    atomic.Int64
		atOnce atomic.Int64
		stop   atomic.Bool
		wg     sync.WaitGroup
	)
	for r := range 3 {
		wg.Go(func() {
			var held []*hazard.Pointer
			defer func() {
				for _, hp := range held {
					hp.Release()
				}
			}()
			for i := 0; !stop.Load(); i++ {
				var o *reclaimObj
				var hp *hazard.Pointer
				var arr *hazard.Array
				switch i % 3 {
				case 0:
					hp = d.Acquire()
					o = hazard.Protect(hp, &src)
				case 1:
					arr = d.AcquireArray(1 + i%hazard.MaxArray)
					hp = arr.At(arr.Len() - 1)
					o = hazard.Protect(hp, &src)
				default:
					hp = d.Acquire()
					for {
						o = src.Load()
						if hazard.TryProtect(hp, o, &src) {
							break
						}
					}
				}
				if o.val != reclaimLive {
					bad.Add(1)
				}
				if i%4 == r {
					runtime.Gosched()
				}
				if o.val != reclaimLive {
					bad.Add(1)
				}
				switch {
				case arr != nil:
					arr.Release()
				case len(held) < 100 && i%2 == 0:
					held = append(held, hp) // keeps it protecting: the registry grows
				default:
					hp.Release()
				}
			}
		})
	}
	wg.Go(func() {
		for !stop.Load() {
			n := &reclaimObj{val: reclaimLive}
			old := src.Swap(n)
			mu.Lock()
			all = append(all, n)
			mu.Unlock()
			if hazard.Reclaim(d, old, reclaimFree) {
				atOnce.Add(1)
			}
		}
	})
	time.Sleep(250 * time.Millisecond)
	stop.Store(true)
	wg.Wait()
	last := src.Swap(nil)
	hazard.Reclaim(d, last, reclaimFree)
	require.Zero(t, bad.Load(), "readers saw a freed object")
	require.NoError(t, d.Close())
	for i, o := range all {
		require.EqualValues(t, 1, o.freed.Load(), "object %d of %d", i, len(all))
	}
	st := d.Stats()
	require.EqualValues(t, len(all), st.Retired)
	require.EqualValues(t, len(all), st.Reclaimed)
	require.Zero(t, st.Pending)
	require.Positive(t, atOnce.Load())
	t.Logf("%d objects, %d freed at once, %d slots", len(all), atOnce.Load(), st.Slots)
}
