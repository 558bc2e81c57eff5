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

// boundNode is what the bound test retires: its free function counts and
// poisons it with plain writes, which race with a late reader.
type boundNode struct {
	val   int
	freed atomic.Int32
}

const boundPoison = -1

// boundRetires is how many objects TestPendingBoundWithStalledReader
// retires: a million (about 0.5 s per case under -race on 2 cores), 100k
// with -short.
func boundRetires() int {
	if testing.Short() {
		return 100_000
	}
	return 1_000_000
}

const boundWriters = 4

// documentedBound is doc.go's bound on Pending for w goroutines inside
// Retire, Flush, Barrier or Close at once (the aging timer counts as one
// more), with as many scans in progress: 2 × Tmax + (w+2) × w × (64 + 2 ×
// Slots) + 63 × (2 × GOMAXPROCS + 1), Tmax taken at its largest value for the
// default WithThresholdPerSlot.
func documentedBound(st hazard.Stats, w int) uint64 {
	tmax := max(st.Threshold, hazard.DefaultPerSlot*st.Slots)
	return uint64(2*tmax + (w+2)*w*(64+2*st.Slots) + 63*(2*runtime.GOMAXPROCS(0)+1))
}

// The property that is the reason for hazard pointers: a reader that
// protects one object and stalls holds back that object only. While four
// goroutines retire a million objects, Pending stays within doc.go's bound,
// and a Barrier with a short deadline reclaims everything but the protected
// object. Once the reader releases it, Barrier returns nil and every object
// has been reclaimed exactly once.
func TestPendingBoundWithStalledReader(t *testing.T) {
	for _, opts := range []struct {
		name string
		opt  []hazard.Option
	}{
		{"default", nil},
		{"threshold=64", []hazard.Option{hazard.WithThreshold(64)}},
	} {
		t.Run(opts.name, func(t *testing.T) {
			st := testPendingBound(t, boundRetires(), opts.opt...)
			require.LessOrEqual(t, st.PeakPending, documentedBound(st, boundWriters+1), "PeakPending over the documented bound")
			if typical := uint64(st.Threshold + 64*2*boundWriters); st.PeakPending > typical {
				t.Logf("PeakPending %d above the typical Threshold + 64×2W = %d", st.PeakPending, typical)
			}
		})
	}
}

func testPendingBound(t *testing.T, n int, opts ...hazard.Option) hazard.Stats {
	const writers = boundWriters
	d := hazard.New(opts...)
	nodes := make([]boundNode, n+1) // one allocation: the GC has little to do
	free := func(x *boundNode) {
		if x.freed.Add(1) != 1 {
			t.Errorf("node %p reclaimed twice", x)
		}
		x.val = boundPoison
	}
	for i := range nodes {
		nodes[i].val = i
	}

	// The reader protects nodes[n] and stalls.
	var src atomic.Pointer[boundNode]
	protected := &nodes[n]
	src.Store(protected)
	hold, resume, done := make(chan struct{}), make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		hp := d.Acquire()
		p := hazard.Protect(hp, &src)
		if p != protected || p.val != n {
			t.Errorf("reader: Protect returned %p (val %d)", p, p.val)
		}
		close(hold)
		<-resume
		if p.val != n { // a read after the stall: races with a premature free
			t.Errorf("reader: protected node was reclaimed (val %d)", p.val)
		}
		hp.Release()
	}()
	<-hold
	src.Store(nil)
	hazard.Retire(d, protected, free)

	// Sample Pending while the writers run, as a second witness next to
	// PeakPending.
	stopSample := make(chan struct{})
	var sampled atomic.Uint64
	var sampler sync.WaitGroup
	sampler.Go(func() {
		for {
			select {
			case <-stopSample:
				return
			default:
			}
			if p := d.Stats().Pending; p > sampled.Load() {
				sampled.Store(p)
			}
			time.Sleep(50 * time.Microsecond)
		}
	})

	start := time.Now()
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := w; i < n; i += writers {
				hazard.Retire(d, &nodes[i], free)
			}
		})
	}
	wg.Wait()
	close(stopSample)
	sampler.Wait()
	elapsed := time.Since(start)

	st := d.Stats()
	result := st
	t.Logf("%d retires by %d goroutines in %v; PeakPending %d, sampled Pending max %d (Threshold %d)",
		n, writers, elapsed, st.PeakPending, sampled.Load(), st.Threshold)
	// Stats reads Retired after Reclaimed, so a sampled Pending may exceed
	// PeakPending by what was retired in between (observed: 41729 once):
	// it is logged, not asserted.
	require.Positive(t, st.PeakPending)
	require.Equal(t, st.Retired-st.Reclaimed, st.Pending)

	// Only the protected object survives a Barrier with a short deadline.
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
	defer cancel()
	require.ErrorIs(t, d.Barrier(ctx), context.DeadlineExceeded)
	st = d.Stats()
	require.EqualValues(t, n+1, st.Retired)
	require.EqualValues(t, n, st.Reclaimed)
	require.EqualValues(t, 1, st.Pending)
	require.Equal(t, 1, st.Protecting)
	require.Zero(t, protected.freed.Load())
	for i := range n {
		if nodes[i].freed.Load() != 1 {
			require.Failf(t, "not reclaimed exactly once", "node %d: %d", i, nodes[i].freed.Load())
		}
	}

	// The reader releases: everything is reclaimed, exactly once.
	close(resume)
	<-done
	require.NoError(t, d.Barrier(waitCtx(t)))
	st = d.Stats()
	require.EqualValues(t, n+1, st.Retired)
	require.EqualValues(t, n+1, st.Reclaimed)
	require.Zero(t, st.Pending)
	require.Zero(t, st.Protecting)
	for i := range nodes {
		if nodes[i].freed.Load() != 1 {
			require.Failf(t, "not reclaimed exactly once", "node %d: %d", i, nodes[i].freed.Load())
		}
	}
	require.NoError(t, d.Close())
	require.EqualValues(t, n+1, d.Stats().Reclaimed, "Close reclaims nothing twice")
	return result
}

// A free function that retires counts as a goroutine inside Retire: with
// every reclaimed object retiring one more, Pending still stays within
// Threshold + 64 × (writers + nesting), and the protected object survives.
func TestPendingBoundWithRetiringFree(t *testing.T) {
	const writers = 2
	d := hazard.New(hazard.WithThreshold(128))
	var src atomic.Pointer[boundNode]
	protected := &boundNode{val: 7}
	src.Store(protected)
	hp := d.Acquire()
	require.Same(t, protected, hazard.Protect(hp, &src))
	src.Store(nil)
	var freed atomic.Int64
	hazard.Retire(d, protected, func(x *boundNode) { freed.Add(1); x.val = boundPoison })

	// Each object retired by a writer retires one child when reclaimed.
	const n = 20_000
	leaf := func(x *boundNode) { freed.Add(1); x.val = boundPoison }
	parent := func(x *boundNode) {
		freed.Add(1)
		x.val = boundPoison
		hazard.Retire(d, &boundNode{}, leaf)
	}
	var wg sync.WaitGroup
	for range writers {
		wg.Go(func() {
			for range n / writers {
				hazard.Retire(d, &boundNode{}, parent)
			}
		})
	}
	wg.Wait()
	for range 3 {
		ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
		require.ErrorIs(t, d.Barrier(ctx), context.DeadlineExceeded)
		cancel()
	}
	st := d.Stats()
	require.EqualValues(t, 2*n+1, st.Retired)
	require.EqualValues(t, 2*n, st.Reclaimed)
	require.EqualValues(t, 1, st.Pending)
	require.Equal(t, 7, protected.val)
	// A scan's free functions retire into the processor's batch, and a full
	// batch seals and scans again, nested: each writer counts twice in W
	// (parent, leaf), the Barriers once more, and the aging timer too.
	require.LessOrEqual(t, st.PeakPending, documentedBound(st, 2*writers+2))
	hp.Release()
	require.NoError(t, d.Close())
	require.EqualValues(t, 2*n+1, freed.Load())
}

// A Barrier or Close takes a list of its own and Retire goes on scanning
// the other, so the bound holds while Barriers run back to back. (When
// Barrier suspended scanning instead, PeakPending here reached 157,910;
// with 2 million retires, 1.5 million.)
func TestPendingBoundDuringBarriers(t *testing.T) {
	const writers = 4
	d := hazard.New()
	hazard.Retire(d, new(int), func(*int) {})
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		for {
			select {
			case <-stop:
				return
			default:
			}
			_ = d.Barrier(ctx)
		}
	})
	var ww sync.WaitGroup
	for range writers {
		ww.Go(func() {
			for range boundRetires() / writers {
				hazard.Retire(d, new(int), func(*int) {})
			}
		})
	}
	ww.Wait()
	close(stop)
	wg.Wait()
	st := d.Stats()
	t.Logf("PeakPending %d, Threshold %d", st.PeakPending, st.Threshold)
	require.NoError(t, d.Close())
	require.LessOrEqual(t, st.PeakPending, documentedBound(st, writers+2),
		"PeakPending while Barriers run")
}
