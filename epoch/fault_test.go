package epoch_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/go-reclaim/reclaim/epoch"
)

// ledger counts how often each object was reclaimed.
type ledger struct {
	mu    sync.Mutex
	freed map[*int]int
}

func newLedger() *ledger { return &ledger{freed: map[*int]int{}} }

func (l *ledger) free(p *int) {
	l.mu.Lock()
	l.freed[p]++
	l.mu.Unlock()
}

func (l *ledger) count(p *int) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.freed[p]
}

// requireEach asserts every object in objs was reclaimed exactly once.
func (l *ledger) requireEach(t *testing.T, objs []*int) {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	for i, p := range objs {
		require.Equalf(t, 1, l.freed[p], "object %d reclaimed %d times", i, l.freed[p])
	}
}

// The fault tests use WithMaxBatchAge(0): their free functions keep plain
// counters and expect to run on the goroutine that reclaims, which the
// aging timer's goroutine would not be.

func TestPanickingFreeFunction(t *testing.T) {
	c := newCollector(epoch.WithBatchSize(8), epoch.WithMaxBatchAge(0))
	l := newLedger()
	var objs []*int
	bad := new(int)
	badRuns := 0

	g := c.Enter()
	for i := range 20 {
		if i == 5 {
			epoch.Retire(g, bad, func(*int) { badRuns++; panic("free failed") })
			continue
		}
		p := new(int)
		objs = append(objs, p)
		epoch.Retire(g, p, l.free)
	}
	g.Exit()

	// The panic reaches the caller of whatever runs the free function.
	require.PanicsWithValue(t, "free failed", func() { _ = c.Barrier(t.Context()) })
	require.Equal(t, 1, badRuns)

	// The collector is consistent: the rest is still reclaimed, the
	// panicking object is not run again, and the counts add up.
	require.NoError(t, c.Barrier(t.Context()))
	require.Equal(t, 1, badRuns)
	l.requireEach(t, objs)
	st := c.Stats()
	require.Equal(t, uint64(20), st.Retired)
	require.Equal(t, uint64(20), st.Reclaimed)
	require.Zero(t, st.Pending)

	// And it keeps working.
	p := new(int)
	g = c.Enter()
	epoch.Retire(g, p, l.free)
	g.Exit()
	require.NoError(t, c.Close())
	require.Equal(t, 1, l.count(p))
}

func TestPanickingFreeFunctionDuringRetire(t *testing.T) {
	c := newCollector(epoch.WithBatchSize(1), epoch.WithMaxBatchAge(0))
	l := newLedger()
	var objs []*int
	panicked := 0
	for i := range 50 {
		func() {
			defer func() {
				if r := recover(); r != nil {
					require.Equal(t, "boom", r)
					panicked++
				}
			}()
			g := c.Enter()
			defer g.Exit()
			if i%7 == 3 {
				epoch.Retire(g, new(int), func(*int) { panic("boom") })
				return
			}
			p := new(int)
			objs = append(objs, p)
			epoch.Retire(g, p, l.free)
		}()
	}
	// Retire's full batches share heavy fences, so some of the panicking
	// objects may still be pending: Close runs them, and its panic is to be
	// met by calling it again.
	closeErr := errors.New("Close did not return")
	for range 8 {
		func() {
			defer func() {
				if r := recover(); r != nil {
					require.Equal(t, "boom", r)
					panicked++
				}
			}()
			closeErr = c.Close()
		}()
		if closeErr == nil {
			break
		}
	}
	require.NoError(t, closeErr)
	require.Equal(t, 7, panicked, "each panicking free function runs once and its panic reaches a caller")
	l.requireEach(t, objs)
	require.Zero(t, c.Stats().Pending)
}

// tree is a recursive structure whose free function retires its children.
type tree struct {
	children []*tree
	freed    atomic.Int32
}

func build(depth int, all *[]*tree) *tree {
	n := &tree{}
	*all = append(*all, n)
	if depth > 0 {
		for range 3 {
			n.children = append(n.children, build(depth-1, all))
		}
	}
	return n
}

func freeTree(c *epoch.Collector) func(*tree) {
	var free func(*tree)
	free = func(n *tree) {
		n.freed.Add(1)
		if len(n.children) == 0 {
			return
		}
		g := c.Enter() // a free function may enter a guard...
		for _, ch := range n.children {
			epoch.Retire(g, ch, free) // ...and retire
		}
		g.Exit()
	}
	return free
}

func TestRecursiveFreeFunction(t *testing.T) {
	for _, name := range []string{"Barrier", "Close"} {
		t.Run(name, func(t *testing.T) {
			c := newCollector(epoch.WithBatchSize(4), epoch.WithMaxBatchAge(0))
			var all []*tree
			root := build(5, &all)
			g := c.Enter()
			epoch.Retire(g, root, freeTree(c))
			g.Exit()
			if name == "Barrier" {
				// Each Barrier reclaims what was retired before it; the
				// children retired by free functions need more rounds.
				for range 10 {
					require.NoError(t, c.Barrier(t.Context()))
				}
			}
			require.NoError(t, c.Close())
			for i, n := range all {
				require.Equalf(t, int32(1), n.freed.Load(), "node %d", i)
			}
			st := c.Stats()
			require.Equal(t, uint64(len(all)), st.Reclaimed)
			require.Zero(t, st.Pending)
		})
	}
}

func TestGoroutineExitsWithPendingGarbage(t *testing.T) {
	c := newCollector(epoch.WithBatchSize(1000), epoch.WithMaxBatchAge(0)) // nothing fills a batch
	l := newLedger()
	objs := make([][]*int, 16)
	var wg sync.WaitGroup
	for i := range objs {
		wg.Go(func() {
			if i%2 == 0 {
				g := c.Enter()
				defer g.Exit()
				for range 10 {
					p := new(int)
					objs[i] = append(objs[i], p)
					epoch.Retire(g, p, l.free)
				}
				return
			}
			// A Handle dropped without Unregister.
			h := c.Register()
			g := h.Enter()
			for range 10 {
				p := new(int)
				objs[i] = append(objs[i], p)
				epoch.Retire(g, p, l.free)
			}
			g.Exit()
		})
	}
	wg.Wait()
	require.NoError(t, c.Barrier(t.Context()))
	for _, o := range objs {
		l.requireEach(t, o)
	}
	require.Equal(t, uint64(160), c.Stats().Reclaimed)
}

func TestCloseWithOpenGuards(t *testing.T) {
	c := newCollector(epoch.WithBatchSize(2), epoch.WithMaxBatchAge(0))
	l := newLedger()
	held := c.Enter()
	h := c.Register()
	held2 := h.Enter()

	var objs []*int
	g := c.Enter()
	for range 9 {
		p := new(int)
		objs = append(objs, p)
		epoch.Retire(g, p, l.free)
	}
	g.Exit()

	err := c.Close()
	require.ErrorIs(t, err, epoch.ErrGuardsOpen)
	require.Contains(t, err.Error(), "2 guard(s) open")
	for _, p := range objs {
		require.Zero(t, l.count(p), "Close reclaimed an object an open guard could hold")
	}
	require.PanicsWithValue(t, "epoch: Enter on a closed Collector", func() { c.Enter() })

	// Open guards keep working after Close.
	late := new(int)
	epoch.Retire(held, late, l.free)
	held.Exit()
	held2.Exit()
	h.Unregister()

	require.NoError(t, c.Close())
	l.requireEach(t, append(objs, late))
	require.NoError(t, c.Close(), "closing a drained collector again")
	require.Zero(t, c.Stats().Pending)
}

func TestBarrierWaitsForOpenGuards(t *testing.T) {
	c := newCollector(epoch.WithMaxBatchAge(0))
	l := newLedger()
	reader := c.Enter()
	p := new(int)
	g := c.Enter()
	epoch.Retire(g, p, l.free)
	g.Exit()

	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
	defer cancel()
	require.ErrorIs(t, c.Barrier(ctx), context.DeadlineExceeded)
	require.Zero(t, l.count(p), "reclaimed while a guard that could see it is open")

	done := make(chan error)
	go func() { done <- c.Barrier(context.Background()) }()
	time.Sleep(5 * time.Millisecond)
	select {
	case err := <-done:
		t.Fatalf("Barrier returned %v while the reader was still open", err)
	default:
	}
	reader.Exit()
	require.NoError(t, <-done)
	require.Equal(t, 1, l.count(p))
	require.NoError(t, c.Close())
}

// A hot loop that only refreshes its guard must not starve Barrier.
func TestBarrierWithRefreshingGuard(t *testing.T) {
	c := newCollector(epoch.WithMaxBatchAge(0))
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		h := c.Register()
		defer h.Unregister()
		g := h.Enter()
		defer g.Exit()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			epoch.Retire(g, new(int), noop)
			g.Refresh()
		}
	})
	for range 20 {
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		require.NoError(t, c.Barrier(ctx))
		cancel()
	}
	close(stop)
	wg.Wait()
	require.NoError(t, c.Close())
	st := c.Stats()
	require.Equal(t, st.Retired, st.Reclaimed)
}

func TestStatsOldestGuard(t *testing.T) {
	t.Run("tracked", func(t *testing.T) {
		c := newCollector(epoch.WithGuardTracking(), epoch.WithMaxBatchAge(0))
		g := enterHere(c)
		time.Sleep(20 * time.Millisecond)
		st := c.Stats()
		require.Equal(t, 1, st.Guards)
		require.GreaterOrEqual(t, st.OldestGuardAge, 20*time.Millisecond)
		require.Contains(t, st.OldestGuardStack, "epoch_test.enterHere")
		require.True(t, strings.Contains(st.OldestGuardStack, "fault_test.go:"), st.OldestGuardStack)
		g.Exit()
		st = c.Stats()
		require.Zero(t, st.Guards)
		require.Zero(t, st.OldestGuardAge)
		require.NoError(t, c.Close())
	})
	t.Run("observed", func(t *testing.T) {
		c := newCollector(epoch.WithMaxBatchAge(0))
		g := c.Enter()
		require.Equal(t, 1, c.Stats().Guards)
		time.Sleep(20 * time.Millisecond)
		st := c.Stats()
		require.GreaterOrEqual(t, st.OldestGuardAge, 20*time.Millisecond)
		require.Empty(t, st.OldestGuardStack)
		g.Exit()
		g = c.Enter() // a new guard starts young, even at the same epoch
		require.Less(t, c.Stats().OldestGuardAge, 20*time.Millisecond)
		g.Exit()
		require.NoError(t, c.Close())
	})
}

func enterHere(c *epoch.Collector) *epoch.Guard { return c.Enter() }

func handleEnterHere(h *epoch.Handle) *epoch.Guard { return h.Enter() }

func refreshHere(g *epoch.Guard) { g.Refresh() }

// With guard tracking, the stack of an open guard starts at the function
// that entered it (or refreshed it last), not inside the package.
func TestTrackedStackStartsAtCaller(t *testing.T) {
	c := newCollector(epoch.WithGuardTracking(), epoch.WithMaxBatchAge(0))
	first := func() string { return strings.SplitN(c.Stats().OldestGuardStack, "\n", 2)[0] }
	g := enterHere(c)
	require.Equal(t, "github.com/go-reclaim/reclaim/epoch_test.enterHere", first())
	epoch.Retire(g, new(int), noop)
	c.Flush() // moves the epoch, so that Refresh re-pins
	refreshHere(g)
	require.Equal(t, "github.com/go-reclaim/reclaim/epoch_test.refreshHere", first())
	g.Exit()
	h := c.Register()
	g = handleEnterHere(h)
	require.Equal(t, "github.com/go-reclaim/reclaim/epoch_test.handleEnterHere", first())
	g.Exit()
	h.Unregister()
	require.NoError(t, c.Close())
}

// Thousands of goroutines may hold guards at once; their slots are reused
// afterwards instead of growing the registry again.
func TestThousandsOfGoroutines(t *testing.T) {
	const n = 3000
	c := newCollector(epoch.WithMaxBatchAge(0))
	for wave := range 2 {
		var entered, release sync.WaitGroup
		entered.Add(n)
		release.Add(1)
		var wg sync.WaitGroup
		for range n {
			wg.Go(func() {
				g := c.Enter()
				entered.Done()
				release.Wait()
				epoch.Retire(g, new(int), noop)
				g.Exit()
			})
		}
		entered.Wait()
		st := c.Stats()
		require.Equal(t, n, st.Guards, "wave %d", wave)
		require.GreaterOrEqual(t, st.Slots, n)
		release.Done()
		wg.Wait()
		require.Zero(t, c.Stats().Guards)
	}
	require.Less(t, c.Stats().Slots, 2*n, "the second wave reused the first wave's slots")
	require.NoError(t, c.Close())
	require.Equal(t, uint64(2*n), c.Stats().Reclaimed)
}

func TestErrGuardsOpenIsMatchable(t *testing.T) {
	c := newCollector(epoch.WithMaxBatchAge(0))
	g := c.Enter()
	err := c.Close()
	require.True(t, errors.Is(err, epoch.ErrGuardsOpen))
	g.Exit()
	require.NoError(t, c.Close())
}
