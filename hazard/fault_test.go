package hazard_test

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/go-reclaim/reclaim/hazard"
)

// shortCtx is the deadline for a Barrier that is expected to time out
// because a hazard pointer stays set.
func shortCtx(t testing.TB) (context.Context, context.CancelFunc) {
	return context.WithTimeout(t.Context(), 20*time.Millisecond)
}

// waitCtx is the deadline for a Barrier that is expected to succeed: long
// enough never to expire in a passing run, short enough that a test whose
// Barrier waits forever fails instead of hanging the suite.
func waitCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// trackedObj is a retired object whose free function counts its runs.
type trackedObj struct {
	id    int
	freed atomic.Int32
}

// objCounter tracks the objects of a test and their reclamation.
type objCounter struct {
	objs []*trackedObj
}

func (c *objCounter) make() *trackedObj {
	o := &trackedObj{id: len(c.objs)}
	c.objs = append(c.objs, o)
	return o
}

func freeObj(o *trackedObj) { o.freed.Add(1) }

// requireFreed asserts each object was reclaimed exactly once, except those
// in except, which were reclaimed never.
func (c *objCounter) requireFreed(t *testing.T, except ...*trackedObj) {
	t.Helper()
	for _, o := range c.objs {
		want := int32(1)
		for _, e := range except {
			if e == o {
				want = 0
			}
		}
		require.Equal(t, want, o.freed.Load(), "object %d", o.id)
	}
}

func requireStats(t *testing.T, d *hazard.Domain, retired, reclaimed uint64) {
	t.Helper()
	st := d.Stats()
	require.Equal(t, retired, st.Retired, "Retired")
	require.Equal(t, reclaimed, st.Reclaimed, "Reclaimed")
	require.Equal(t, retired-reclaimed, st.Pending, "Pending")
	require.LessOrEqual(t, st.Pending, st.PeakPending, "PeakPending")
}

// A free function that panics: the panic reaches the caller of Barrier, the
// panicking function is never run again, every other object is reclaimed,
// and the counts add up (the panicked run counts as reclaimed).
func TestPanickingFreeFromBarrier(t *testing.T) {
	d := hazard.New(hazard.WithMaxBatchAge(0)) // no aging: the panics reach this goroutine
	var c objCounter
	bad := c.make()
	require.NotPanics(t, func() {
		for i := range 200 {
			if i == 70 {
				hazard.Retire(d, bad, func(o *trackedObj) { o.freed.Add(1); panic("free failed") })
				continue
			}
			hazard.Retire(d, c.make(), freeObj)
		}
	}, "below the threshold, Retire runs no free function")
	require.PanicsWithValue(t, "free failed", func() { _ = d.Barrier(waitCtx(t)) })
	require.EqualValues(t, 1, bad.freed.Load())

	require.NotPanics(t, func() { require.NoError(t, d.Barrier(waitCtx(t))) },
		"the panicking free function must not run again")
	require.EqualValues(t, 1, bad.freed.Load())
	c.requireFreed(t)
	requireStats(t, d, 200, 200)

	// The domain keeps working.
	hp := d.Acquire()
	var src atomic.Pointer[trackedObj]
	x := c.make()
	src.Store(x)
	require.Same(t, x, hazard.Protect(hp, &src))
	src.Store(nil)
	hazard.Retire(d, x, freeObj)
	ctx, cancel := shortCtx(t)
	defer cancel()
	require.ErrorIs(t, d.Barrier(ctx), context.DeadlineExceeded)
	require.Zero(t, x.freed.Load())
	hp.Release()
	require.NoError(t, d.Close())
	c.requireFreed(t)
	requireStats(t, d, 201, 201)
}

// The panic reaches the caller of a Retire whose scan runs the panicking
// free function; the goroutine can retire again afterwards.
func TestPanickingFreeFromRetire(t *testing.T) {
	// One P: the retires below all fill the bad object's processor batch. On
	// more, a goroutine that migrates leaves that batch behind, unsealed, for
	// every retire after it (CI saw 100,000 retires pass without the panic).
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	d := hazard.New(hazard.WithThreshold(1), hazard.WithMaxBatchAge(0)) // every sealed batch scans
	var c objCounter
	bad := c.make()
	var retired uint64
	require.NotPanics(t, func() {
		hazard.Retire(d, bad, func(o *trackedObj) { o.freed.Add(1); panic("free failed") })
		retired++
	}, "Retire must not run the free function at once")
	panicked := 0
	// The bad object's batch is sealed, and scanned, once its processor's
	// batch fills: within batchSize retires.
	for i := 0; i < 100_000 && panicked == 0; i++ {
		func() {
			defer func() {
				if r := recover(); r != nil {
					require.Equal(t, "free failed", r)
					panicked++
				}
			}()
			retired++
			hazard.Retire(d, c.make(), freeObj)
		}()
	}
	require.Equal(t, 1, panicked, "the panic must reach a caller of Retire")
	require.EqualValues(t, 1, bad.freed.Load())
	require.NotPanics(t, func() {
		for range 1000 {
			retired++
			hazard.Retire(d, c.make(), freeObj)
		}
		require.NoError(t, d.Barrier(waitCtx(t)))
	}, "the panicking free function must not run again")
	require.EqualValues(t, 1, bad.freed.Load())
	c.requireFreed(t)
	requireStats(t, d, retired, retired)
	require.NoError(t, d.Close())
}

// The panic reaches the caller of Close; a second Close reclaims the rest.
func TestPanickingFreeFromClose(t *testing.T) {
	d := hazard.New(hazard.WithMaxBatchAge(0)) // no aging: the panics reach this goroutine
	var c objCounter
	require.NotPanics(t, func() {
		for i := range 100 {
			if i%30 == 7 { // 4 panicking objects
				hazard.Retire(d, c.make(), func(o *trackedObj) { o.freed.Add(1); panic(fmt.Sprint("free failed ", o.id)) })
				continue
			}
			hazard.Retire(d, c.make(), freeObj)
		}
	}, "below the threshold, Retire runs no free function")
	panics := 0
	for {
		r, err := closeRecover(d)
		if r == nil {
			require.NoError(t, err)
			break
		}
		require.True(t, strings.HasPrefix(r.(string), "free failed "), r)
		panics++
		require.LessOrEqual(t, panics, 4)
		// A Close that panicked leaves the domain closed.
		require.PanicsWithValue(t, "hazard: Retire on a closed Domain",
			func() { hazard.Retire(d, new(int), func(*int) {}) })
	}
	require.Equal(t, 4, panics)
	c.requireFreed(t)
	requireStats(t, d, 100, 100)
	require.NoError(t, d.Close())
}

func closeRecover(d *hazard.Domain) (r any, err error) {
	defer func() { r = recover() }()
	return nil, d.Close()
}

func barrierRecover(ctx context.Context, d *hazard.Domain) (r any, err error) {
	defer func() { r = recover() }()
	return nil, d.Barrier(ctx)
}

// Several panicking free functions, interleaved with a protected object:
// each Barrier surfaces one panic, the protected object survives all of
// them, and the counts add up at every step.
func TestPanickingFreesWithProtectedObject(t *testing.T) {
	d := hazard.New(hazard.WithMaxBatchAge(0)) // no aging: the panics reach this goroutine
	var c objCounter
	var src atomic.Pointer[trackedObj]
	keep := c.make()
	src.Store(keep)
	hp := d.Acquire()
	require.Same(t, keep, hazard.Protect(hp, &src))
	src.Store(nil)
	hazard.Retire(d, keep, freeObj)

	const n, nbad = 500, 10
	require.NotPanics(t, func() {
		for i := range n {
			if i%(n/nbad) == 3 {
				hazard.Retire(d, c.make(), func(o *trackedObj) { o.freed.Add(1); panic(o) })
				continue
			}
			hazard.Retire(d, c.make(), freeObj)
		}
	}, "below the threshold, Retire runs no free function")
	panics := 0
	for {
		ctx, cancel := shortCtx(t)
		r, err := barrierRecover(ctx, d)
		cancel()
		if r == nil {
			require.ErrorIs(t, err, context.DeadlineExceeded)
			break
		}
		o, ok := r.(*trackedObj)
		require.True(t, ok, r)
		require.EqualValues(t, 1, o.freed.Load())
		panics++
		require.LessOrEqual(t, panics, nbad)
		st := d.Stats()
		require.Equal(t, st.Retired-st.Reclaimed, st.Pending)
	}
	require.Equal(t, nbad, panics)
	c.requireFreed(t, keep)
	requireStats(t, d, n+1, n)

	hp.Release()
	require.NoError(t, d.Barrier(waitCtx(t)))
	c.requireFreed(t)
	requireStats(t, d, n+1, n+1)
	require.NoError(t, d.Close())
}

// retireNode is a retired object whose free function retires more: its children
// (a tree) or its successor (a chain).
type retireNode struct {
	kids  []*retireNode
	freed atomic.Int32
}

func (n *retireNode) free(d *hazard.Domain) func(*retireNode) {
	var f func(*retireNode)
	f = func(n *retireNode) {
		n.freed.Add(1)
		for _, k := range n.kids {
			hazard.Retire(d, k, f)
		}
	}
	return f
}

// tree builds a tree of the given fan-out and depth and returns its root and
// all its nodes.
func retireTree(fanout, depth int) (*retireNode, []*retireNode) {
	root := &retireNode{}
	all := []*retireNode{root}
	level := []*retireNode{root}
	for range depth {
		var next []*retireNode
		for _, p := range level {
			for range fanout {
				k := &retireNode{}
				p.kids = append(p.kids, k)
				next = append(next, k)
			}
		}
		all = append(all, next...)
		level = next
	}
	return root, all
}

// chain builds n nodes, each the only child of the previous one.
func retireChain(n int) (*retireNode, []*retireNode) {
	all := make([]*retireNode, n)
	for i := n - 1; i >= 0; i-- {
		all[i] = &retireNode{}
		if i < n-1 {
			all[i].kids = []*retireNode{all[i+1]}
		}
	}
	return all[0], all
}

func requireNodesFreed(t *testing.T, all []*retireNode) {
	t.Helper()
	for i, n := range all {
		require.EqualValues(t, 1, n.freed.Load(), "node %d", i)
	}
}

// A free function that retires more objects, reclaimed by Close: Close
// keeps going until no free function retires more, and Retire panics again
// once Close has returned.
func TestFreeRetiresDuringClose(t *testing.T) {
	for _, tc := range []struct {
		name string
		mk   func() (*retireNode, []*retireNode)
	}{
		{"tree", func() (*retireNode, []*retireNode) { return retireTree(3, 7) }}, // 3280 nodes
		{"chain", func() (*retireNode, []*retireNode) { return retireChain(5000) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, thr := range []int{1, hazard.DefaultThreshold} {
				d := hazard.New(hazard.WithThreshold(thr))
				root, all := tc.mk()
				hazard.Retire(d, root, root.free(d))
				require.NoError(t, d.Close())
				requireNodesFreed(t, all)
				requireStats(t, d, uint64(len(all)), uint64(len(all)))
				require.PanicsWithValue(t, "hazard: Retire on a closed Domain",
					func() { hazard.Retire(d, &retireNode{}, func(*retireNode) {}) })
			}
		})
	}
}

// Free functions that retire more, reclaimed by Retire's own scans (nested
// inside the scan that runs them) and by Barrier: objects retired during a
// Barrier need not be reclaimed by it, but a Barrier per generation
// reclaims everything, each object exactly once.
func TestFreeRetiresDuringScanAndBarrier(t *testing.T) {
	d := hazard.New(hazard.WithThreshold(1))
	root, all := retireTree(4, 6) // 5461 nodes
	free := root.free(d)
	hazard.Retire(d, root, free)
	for _, k := range []*retireNode{{}, {}, {}} { // a few unrelated retires that scan
		hazard.Retire(d, k, func(*retireNode) {})
		all = append(all, k)
		k.freed.Store(1)
	}
	for i := 0; ; i++ {
		require.NoError(t, d.Barrier(waitCtx(t)))
		if d.Stats().Reclaimed == uint64(len(all)) {
			break
		}
		require.Less(t, i, 10, "one Barrier per tree level must suffice")
	}
	requireNodesFreed(t, all[:len(all)-3])
	requireStats(t, d, uint64(len(all)), uint64(len(all)))

	require.NoError(t, d.Close())
}

// Goroutines that exit with retired objects still in their processor's
// open batch: Barrier reclaims them.
func TestExitWithPendingWork(t *testing.T) {
	d := hazard.New()
	var c objCounter
	const g, each = 16, 37 // fewer than a batch each
	objs := make([][]*trackedObj, g)
	for i := range objs {
		for range each {
			objs[i] = append(objs[i], c.make())
		}
	}
	first := c.make()
	hazard.Retire(d, first, freeObj)
	var wg sync.WaitGroup
	for i := range g {
		wg.Go(func() {
			for _, o := range objs[i] {
				hazard.Retire(d, o, freeObj)
			}
		})
	}
	wg.Wait()
	require.NoError(t, d.Barrier(waitCtx(t)))
	c.requireFreed(t)
	requireStats(t, d, g*each+1, g*each+1)
	require.NoError(t, d.Close())
}

// Close with protected objects says how many, reclaims the rest, and a
// second Close after the reset reclaims those.
func TestCloseWhileProtected(t *testing.T) {
	d := hazard.New()
	var c objCounter
	a := d.AcquireArray(3)
	srcs := make([]atomic.Pointer[trackedObj], 3)
	var prot []*trackedObj
	for i := range 3 {
		o := c.make()
		srcs[i].Store(o)
		require.Same(t, o, hazard.Protect(a.At(i), &srcs[i]))
		prot = append(prot, o)
	}
	// Two of them retired; the third protected but never retired.
	for i := range 2 {
		srcs[i].Store(nil)
		hazard.Retire(d, prot[i], freeObj)
	}
	for range 100 {
		hazard.Retire(d, c.make(), freeObj)
	}
	err := d.Close()
	require.ErrorIs(t, err, hazard.ErrProtected)
	require.Contains(t, err.Error(), "2 object(s) protected by 3 hazard pointer(s)")
	c.requireFreed(t, prot...)
	requireStats(t, d, 102, 100)
	require.PanicsWithValue(t, "hazard: Retire on a closed Domain",
		func() { hazard.Retire(d, c.make(), freeObj) })
	c.objs = c.objs[:len(c.objs)-1]

	a.At(0).Reset()
	err = d.Close()
	require.ErrorIs(t, err, hazard.ErrProtected)
	require.Contains(t, err.Error(), "1 object(s) protected by 2 hazard pointer(s)")
	c.requireFreed(t, prot[1], prot[2])
	a.Release()
	require.NoError(t, d.Close())
	c.requireFreed(t, prot[2])
	requireStats(t, d, 102, 102)
}

// TestCloseReclaimsWhatFreeFunctionsRetire is a regression test: Close once
// stops draining when an iteration's flush sealed nothing, but the sweep of
// that iteration may still run free functions that retire into a
// processor's open batch, which nobody seals afterwards. Here the root's
// free function retires exactly 64 children (a full batch, sealed at once,
// so the next flush finds nothing), and one child retires a grandchild:
// Close returns nil, Stats shows nothing pending, and the grandchild is
// never reclaimed (nor counted as retired).
func TestCloseReclaimsWhatFreeFunctionsRetire(t *testing.T) {
	d := hazard.New()
	grand := &retireNode{}
	kids := make([]*retireNode, 64)
	for i := range kids {
		kids[i] = &retireNode{}
	}
	kids[0].kids = []*retireNode{grand}
	root := &retireNode{kids: kids}
	hazard.Retire(d, root, root.free(d))
	require.NoError(t, d.Close())
	requireNodesFreed(t, append([]*retireNode{root, grand}, kids...))
	requireStats(t, d, 66, 66)
}

// TestRetireOnFreshDomainsConcurrently is a regression test for a bug that crashed
// the process ("fatal error: schedule: holding locks"): retire (domain.go)
// calls newBatch, hence sync.Pool.Get on the domain's spare pool, while it
// holds pin.Pin (runtime.procPin). The first Get of a pool on a processor
// takes sync.Pool's pinSlow path, which unpins once (the outer pin stays)
// and locks the global allPoolsMu; if another goroutine holds that mutex
// (any pool's first use on a P, or a GC's pool cleanup), Lock parks while
// the M still holds a pin, and the runtime throws. Many domains used for
// the first time at once hit it within a second; it was first seen in
// TestStressBarrierReclaimsAllRetiredBefore, which makes a domain per
// round.
func TestRetireOnFreshDomainsConcurrently(t *testing.T) {
	deadline := time.Now().Add(2 * time.Second)
	var wg sync.WaitGroup
	for range 4 * runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for time.Now().Before(deadline) {
				d := hazard.New()
				for range 3 {
					hazard.Retire(d, new(int), func(*int) {})
				}
				if err := d.Close(); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
}
