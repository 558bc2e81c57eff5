package epoch_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/go-reclaim/reclaim/epoch"
)

// closeNode is a Pool node whose OnReclaim poisons it. value is a plain
// field, so under -race a reader that reads it while OnReclaim writes it is
// reported, and without -race the reader sees the poison.
type closeNode struct {
	value int
}

const closeLive, closePoison = 42, -1

// Readers that enter while Close runs, load a node, and hold it while a
// writer unlinks and retires that node must never see it reclaimed; and if
// Close returns nil, no guard may be open. The review's reproducer of the
// use-after-reclaim in Close had this shape: Close counted the open guards,
// then reclaimed Pool batches that were orphaned after its count began.
// Here Close has slow free functions to run, during which Enter succeeds.
func TestCloseNeverReclaimsUnderAConcurrentGuard(t *testing.T) {
	trials := 200
	if testing.Short() {
		trials = 50
	}
	var uses, retires, closedNil atomic.Int64
	for range trials {
		c := newCollector(epoch.WithBatchSize(1))
		pool := epoch.NewPool(c, epoch.OnReclaim(func(n *closeNode) { n.value = closePoison }))
		var head atomic.Pointer[closeNode]
		g := c.Enter()
		n := pool.Get(g)
		n.value = closeLive
		head.Store(n)
		for range 30 {
			epoch.Retire(g, new(int), func(*int) { runtime.Gosched() })
		}
		g.Exit()

		var inGuard atomic.Int32
		start := make(chan struct{})
		var wg sync.WaitGroup
		for range 2 {
			wg.Go(func() { // reader: holds the node it loaded for a while
				<-start
				for {
					g, ok := tryEnter(c)
					if !ok {
						return
					}
					inGuard.Add(1)
					if n := epoch.Load(g, &head); n != nil {
						for range 3 {
							runtime.Gosched()
							if v := n.value; v != closeLive {
								t.Errorf("reader saw value %d: its node was reclaimed under an open guard", v)
								break
							}
						}
						uses.Add(1)
					}
					inGuard.Add(-1)
					g.Exit()
				}
			})
		}
		wg.Go(func() { // writer: replaces the node and retires the old one
			<-start
			for {
				g, ok := tryEnter(c)
				if !ok {
					return
				}
				n := pool.Get(g)
				n.value = closeLive
				if old := head.Swap(n); old != nil {
					pool.Retire(g, old)
					retires.Add(1)
				}
				g.Exit()
				runtime.Gosched()
			}
		})
		close(start)
		runtime.Gosched()
		for {
			err := c.Close()
			if err == nil {
				closedNil.Add(1)
				require.Zero(t, inGuard.Load(), "Close returned nil while a guard was open")
				break
			}
			require.ErrorIs(t, err, epoch.ErrGuardsOpen)
		}
		wg.Wait()
		require.Zero(t, c.Stats().Pending)
	}
	t.Logf("%d trials: %d reader uses, %d nodes retired during Close", trials, uses.Load(), retires.Load())
}

// tryEnter enters a guard unless c is closed.
func tryEnter(c *epoch.Collector) (g *epoch.Guard, ok bool) {
	defer func() {
		if r := recover(); r != nil {
			if r != "epoch: Enter on a closed Collector" {
				panic(r)
			}
			g, ok = nil, false
		}
	}()
	return c.Enter(), true
}

// Close must not wait behind a Barrier that waits for an open guard: it
// returns ErrGuardsOpen at once.
func TestCloseDoesNotWaitBehindBarrier(t *testing.T) {
	c := newCollector(epoch.WithMaxBatchAge(0))
	l := newLedger()
	open := c.Enter()
	e := c.Stats().Epoch
	g := c.Enter()
	p := new(int)
	epoch.Retire(g, p, l.free)
	g.Exit()

	barrier := make(chan error, 1)
	go func() { barrier <- c.Barrier(context.Background()) }()
	// Refresh lets Barrier flush open's slot without moving open past e;
	// then Barrier advances the epoch once and waits for open to let it
	// advance again.
	waitUntil(t, "Barrier waits for the open guard", func() bool {
		if c.Stats().Epoch > e {
			return true
		}
		open.Refresh()
		return false
	})

	closed := make(chan error, 1)
	go func() { closed <- c.Close() }()
	select {
	case err := <-closed:
		require.ErrorIs(t, err, epoch.ErrGuardsOpen)
	case <-time.After(10 * time.Second):
		t.Fatal("Close is still waiting behind a Barrier after 10 s")
	}
	open.Exit()
	require.NoError(t, <-barrier)
	require.NoError(t, c.Close())
	l.requireEach(t, []*int{p})
}

// waitUntil polls cond for up to 10 seconds.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// Barrier's waits all end with its context: for a guard, for the epoch,
// and for another goroutine's sweep that runs a slow free function.
func TestBarrierHonoursContextBehindASlowFreeFunction(t *testing.T) {
	c := newCollector(epoch.WithBatchSize(1), epoch.WithMaxBatchAge(0))
	release := make(chan struct{})
	running := make(chan struct{})
	g := c.Enter()
	epoch.Retire(g, new(int), func(*int) { close(running); <-release })
	g.Exit()
	go c.Flush() // runs the slow free function, holding the sweep
	<-running

	g = c.Enter()
	epoch.Retire(g, new(int), func(*int) {})
	g.Exit()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- c.Barrier(ctx) }()
	select {
	case err := <-done:
		require.ErrorIs(t, err, context.DeadlineExceeded)
	case <-time.After(10 * time.Second):
		t.Fatal("Barrier ignored its context while another goroutine's free function ran")
	}
	close(release)
	require.NoError(t, c.Barrier(context.Background()))
	require.NoError(t, c.Close())
}

// A free function may Enter and Retire even when it runs after Close
// returned ErrGuardsOpen (a guard that stayed open retires and so reclaims
// it), and what it retires is not lost: the next Close reclaims it.
func TestFreeFunctionEntersAfterCloseReturned(t *testing.T) {
	c := newCollector(epoch.WithBatchSize(1), epoch.WithMaxBatchAge(0))
	l := newLedger()
	var children []*int
	var mu sync.Mutex
	parent := new(int)

	old := c.Enter() // pinned at e0
	g := c.Enter()
	epoch.Retire(g, parent, func(p *int) {
		l.free(p)
		child := new(int)
		mu.Lock()
		children = append(children, child)
		mu.Unlock()
		cg := c.Enter()
		epoch.Retire(cg, child, l.free)
		cg.Exit()
	})
	g.Exit()
	// The Retire advanced the epoch once; old holds it there, one short of
	// the end of parent's grace period.
	young := c.Enter()

	err := c.Close()
	require.ErrorIs(t, err, epoch.ErrGuardsOpen)
	require.Contains(t, err.Error(), "2 guard(s) open")
	require.Zero(t, l.count(parent))

	old.Exit()
	// young's Retire advances the epoch past parent's grace period and
	// runs parent's free function, which Enters on a closed Collector.
	epoch.Retire(young, new(int), l.free)
	require.Equal(t, 1, l.count(parent), "parent not reclaimed by the Retire")
	young.Exit()

	require.NoError(t, c.Close())
	mu.Lock()
	defer mu.Unlock()
	require.Len(t, children, 1)
	l.requireEach(t, append([]*int{parent}, children...))
	require.Zero(t, c.Stats().Pending)
}

// Closing from many goroutines while others enter, retire and run
// Barriers: every object reclaimed exactly once, never while a guard that
// loaded it is open.
func TestCloseRacingEverything(t *testing.T) {
	for trial := range 30 {
		c := newCollector(epoch.WithBatchSize(4))
		pool := epoch.NewPool(c, epoch.OnReclaim(func(n *closeNode) { n.value = closePoison }))
		var slot atomic.Pointer[closeNode]
		var retired, freed atomic.Int64
		var wg sync.WaitGroup
		for w := range 4 {
			wg.Go(func() {
				for i := range 200 {
					g, ok := tryEnter(c)
					if !ok {
						return
					}
					if n := epoch.Load(g, &slot); n != nil && n.value != closeLive {
						t.Errorf("trial %d: loaded a reclaimed node (value %d)", trial, n.value)
					}
					switch (w + i) % 3 {
					case 0:
						n := pool.Get(g)
						n.value = closeLive
						if old := slot.Swap(n); old != nil {
							pool.Retire(g, old)
						}
					case 1:
						retired.Add(1)
						epoch.Retire(g, new(int), func(*int) { freed.Add(1) })
					case 2:
						g.Flush()
					}
					g.Exit()
					if i%50 == 0 {
						ctx, cancel := context.WithTimeout(context.Background(), time.Millisecond)
						_ = c.Barrier(ctx)
						cancel()
					}
				}
			})
		}
		wg.Go(func() {
			time.Sleep(time.Duration(trial%5) * 100 * time.Microsecond)
			for {
				err := c.Close()
				if err == nil {
					return
				}
				if !errors.Is(err, epoch.ErrGuardsOpen) {
					t.Errorf("Close: %v", err)
					return
				}
				runtime.Gosched()
			}
		})
		wg.Wait()
		require.NoError(t, c.Close())
		require.Equal(t, retired.Load(), freed.Load(), "trial %d: plain retires reclaimed", trial)
		require.Zero(t, c.Stats().Pending, "trial %d", trial)
	}
}

// The review's reproducer of the index race: Register in a loop against
// Barrier in a loop, on a Collector with a Pool (Barrier flushes each
// slot's Pool state by the slot's index).
func TestRegisterRacingBarrier(t *testing.T) {
	c := newCollector()
	pool := epoch.NewPool[closeNode](c)
	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			require.NoError(t, c.Barrier(context.Background()))
		}
	})
	var handles []*epoch.Handle
	for range 3000 {
		h := c.Register()
		g := h.Enter()
		pool.Retire(g, pool.Get(g))
		g.Exit()
		handles = append(handles, h)
	}
	close(stop)
	wg.Wait()
	for _, h := range handles {
		h.Unregister()
	}
	require.NoError(t, c.Close())
	require.Zero(t, c.Stats().Pending)
}

func ExampleCollector_Close_guardsOpen() {
	c := newCollector()
	g := c.Enter()
	err := c.Close()
	fmt.Println(errors.Is(err, epoch.ErrGuardsOpen), strings.Contains(err.Error(), "1 guard(s) open"))
	g.Exit()
	fmt.Println(c.Close())
	// Output:
	// true true
	// <nil>
}

// Close and Barrier called from a free function panic instead of waiting
// for the sweep that runs them; the Collector stays usable.
func TestCloseAndBarrierFromAFreeFunctionPanic(t *testing.T) {
	if runtime.GOARCH != "amd64" && runtime.GOARCH != "arm64" {
		t.Skip("goroutine identity is only known on amd64 and arm64")
	}
	for _, op := range []string{"Close", "Barrier"} {
		t.Run(op, func(t *testing.T) {
			c := newCollector(epoch.WithMaxBatchAge(0))
			var got any
			g := c.Enter()
			epoch.Retire(g, new(int), func(*int) {
				defer func() { got = recover() }()
				if op == "Close" {
					_ = c.Close()
				} else {
					_ = c.Barrier(context.Background())
				}
			})
			g.Exit()
			done := make(chan struct{})
			go func() {
				defer close(done)
				c.Flush()
			}()
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				t.Fatalf("%s from a free function waits for itself", op)
			}
			require.Equal(t, "epoch: "+op+" called from a free function: it would wait for the reclamation that runs it", got)
			require.NoError(t, c.Close())
		})
	}
}

// With guard tracking, Close's ErrGuardsOpen names where the oldest open
// guard was entered, as Stats does; without, it says only how many.
func TestCloseNamesTheOldestOpenGuard(t *testing.T) {
	for _, tracking := range []bool{false, true} {
		opts := []epoch.Option{epoch.WithMaxBatchAge(0)}
		if tracking {
			opts = append(opts, epoch.WithGuardTracking())
		}
		c := epoch.New(opts...)
		g := enterForCloseTest(c)
		err := c.Close()
		require.ErrorIs(t, err, epoch.ErrGuardsOpen)
		require.Contains(t, err.Error(), "1 guard(s) open")
		if tracking {
			require.Contains(t, err.Error(), "was entered at:")
			require.Contains(t, err.Error(), "enterForCloseTest", "the stack starts where the guard was entered")
		} else {
			require.NotContains(t, err.Error(), "entered at")
		}
		g.Exit()
		require.NoError(t, c.Close())
	}
}

//go:noinline
func enterForCloseTest(c *epoch.Collector) *epoch.Guard { return c.Enter() }
