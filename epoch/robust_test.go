package epoch_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/go-reclaim/reclaim/epoch"
	"github.com/go-reclaim/reclaim/stress"
)

// robustNode is a Treiber stack node for the robust mode's tests; reclaimed
// nodes are poisoned through OnReclaim.
type robustNode struct {
	val  atomic.Int64
	next *robustNode
}

const robustPoison = -1

// robustStack is a Treiber stack whose nodes are recycled through a Pool.
type robustStack struct {
	head atomic.Pointer[robustNode]
	pool *epoch.Pool[robustNode]
}

func newRobustStack(c *epoch.Collector) *robustStack {
	return &robustStack{pool: epoch.NewPool(c, epoch.OnReclaim(func(n *robustNode) { n.val.Store(robustPoison) }))}
}

func (s *robustStack) push(g *epoch.Guard, v int64) {
	n := s.pool.Get(g)
	n.val.Store(v)
	for {
		n.next = s.head.Load()
		if s.head.CompareAndSwap(n.next, n) {
			return
		}
	}
}

func (s *robustStack) pop(g *epoch.Guard) (int64, bool) {
	for {
		top := epoch.Load(g, &s.head)
		if top == nil {
			return 0, false
		}
		if s.head.CompareAndSwap(top, top.next) {
			v := top.val.Load()
			s.pool.Retire(g, top)
			return v, true
		}
	}
}

// churn pushes and pops n times through h, each pair in a guard of its
// own: with a batch size below n, the era moves on.
func (s *robustStack) churn(h *epoch.Handle, n int) {
	for range n {
		g := h.Enter()
		s.push(g, 1)
		s.pop(g)
		g.Exit()
	}
}

// A guard stalled in the robust mode holds back only what was alive while
// it could load: nodes born after it are recycled. In the classic mode the
// same guard holds back everything retired after it entered.
func TestRobustRecyclesPastAStalledGuard(t *testing.T) {
	forModes(t, func(t *testing.T, mode []epoch.Option) {
		c := epoch.New(append(mode, epoch.WithBatchSize(4), epoch.WithMaxBatchAge(0))...)
		s := newRobustStack(c)
		stalled := c.Enter()
		epoch.Load(stalled, &s.head)
		h := c.Register()
		for i := range 1000 {
			g := h.Enter()
			s.push(g, int64(i))
			g.Exit()
			g = h.Enter()
			s.pop(g)
			g.Exit()
		}
		c.Flush()
		st := c.Stats()
		if c.Robust() {
			require.Less(t, st.Pending, uint64(16), "a stalled guard held back nodes born after it: %+v", st)
		} else {
			require.EqualValues(t, 1000, st.Pending, "the classic mode reclaimed past an open guard: %+v", st)
		}
		stalled.Exit()
		h.Unregister()
		require.NoError(t, c.Close())
	})
}

// A node that a guard loaded, through Load, stays unreclaimed, unpoisoned
// and out of Get until the guard exits, however far the era moves and
// however many scans run meanwhile, also when it was born after the guard
// entered (Load extends the reservation).
func TestRobustKeepsWhatAGuardLoaded(t *testing.T) {
	c := epoch.New(epoch.WithRobust(), epoch.WithBatchSize(2), epoch.WithMaxBatchAge(0))
	s := newRobustStack(c)
	w := c.Register()
	reader := c.Enter() // enters first: the node it loads is born after it
	s.churn(w, 10)      // the era moves on
	g := w.Enter()
	s.push(g, 42)
	g.Exit()
	seen := epoch.Load(reader, &s.head)
	require.EqualValues(t, 42, seen.val.Load())

	for i := range 2000 { // pop seen, then churn: many seals, scans and eras
		g := w.Enter()
		if i%2 == 0 {
			s.pop(g)
		} else {
			require.NotSame(t, seen, s.pool.Get(g), "Get handed out a node a guard still holds")
		}
		g.Exit()
		if i%100 == 0 {
			c.Flush()
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	require.ErrorIs(t, c.Barrier(ctx), context.DeadlineExceeded, "Barrier returned while a guard held a retired node")
	require.EqualValues(t, 42, seen.val.Load(), "a node was reclaimed while a guard that loaded it was open")
	reader.Exit()
	require.NoError(t, c.Barrier(context.Background()))
	require.EqualValues(t, robustPoison, seen.val.Load(), "the node was not reclaimed after the guard exited")
	w.Unregister()
	require.NoError(t, c.Close())
}

// A reader whose reservation is behind the era raises it in Load; Reserve
// reports whether it had to. Objects retired with plain Retire carry no
// birth era and are held back as in the classic mode.
func TestRobustReserveAndPlainRetire(t *testing.T) {
	c := epoch.New(epoch.WithRobust(), epoch.WithBatchSize(1), epoch.WithMaxBatchAge(0))
	g := c.Enter()
	require.True(t, g.Reserve(), "a fresh guard's reservation is current")

	var freed atomic.Int64
	w := c.Enter() // another slot: retiring advances the era
	for range 10 {
		epoch.Retire(w, new(int), func(*int) { freed.Add(1) })
	}
	w.Exit()
	c.Flush()
	require.Zero(t, freed.Load(), "a plain Retire was reclaimed past a guard open before it")
	require.False(t, g.Reserve(), "the era moved: Reserve must extend the reservation")
	require.True(t, g.Reserve())
	g.Exit()
	c.Flush()
	require.EqualValues(t, 10, freed.Load())
	require.NoError(t, c.Close())

	classic := epoch.New()
	g = classic.Enter()
	require.True(t, g.Reserve(), "the classic mode has no reservation to extend")
	g.Exit()
	require.NoError(t, classic.Close())
}

// In the robust mode a Pool keeps each node's birth era beside it, so it
// takes back only nodes of its own Get: checked under the race detector and
// with guard tracking, which also note the Pool beside each node.
func TestRobustPoolRejectsForeignNodes(t *testing.T) {
	t.Run("tracking", func(t *testing.T) { rejectsForeignNodes(t, epoch.WithGuardTracking()) })
	t.Run("race", func(t *testing.T) {
		if !stress.RaceEnabled {
			t.Skip("needs go test -race")
		}
		rejectsForeignNodes(t)
	})
}

func rejectsForeignNodes(t *testing.T, opts ...epoch.Option) {
	c := epoch.New(append(opts, epoch.WithRobust())...)
	p := epoch.NewPool[robustNode](c)
	other := epoch.NewPool[robustNode](c)
	g := c.Enter()
	n := other.Get(g)
	require.PanicsWithValue(t, "epoch: Pool.Retire of a node that did not come from this Pool's Get (with WithRobust, a Pool keeps each node's birth era beside it)",
		func() { p.Retire(g, n) })
	other.Retire(g, n)
	g.Exit()
	require.NoError(t, c.Close())
}

// The robust mode's bound (package documentation): with k guards stalled,
// each having reserved d = 0 eras beyond the one it entered at, once the
// other goroutines' guards have exited and Flush has run, pending nodes
// are at most
//
//	k·3·O,  O = N + W + S·B
//
// for S slots, batch size B, N nodes in the structure and W goroutines
// working on it, however long the others churned. The churn runs in
// rounds, the bound checked after each. In the classic mode the same run
// exceeds the bound, so the test can fail.
func TestRobustBoundsPendingUnderStalledGuards(t *testing.T) {
	const (
		batch    = 8
		size     = 64 // nodes in the stack between operations
		churners = 4
		stalls   = 4 // two stall before the churn, two after the first round
		rounds   = 6
		perRound = 1500 // push+pop pairs per churner per round
	)
	forModes(t, func(t *testing.T, mode []epoch.Option) {
		c := epoch.New(append(mode, epoch.WithBatchSize(batch), epoch.WithMaxBatchAge(0))...)
		s := newRobustStack(c)
		g := c.Enter()
		for i := range size {
			s.push(g, int64(i))
		}
		g.Exit()

		release := make(chan struct{})
		var stalled sync.WaitGroup
		stall := func() { // called while no churner runs: d = 0
			ready := make(chan struct{})
			stalled.Go(func() {
				g := c.Enter()
				if top := epoch.Load(g, &s.head); top == nil || top.val.Load() == robustPoison {
					t.Errorf("the stalled reader loaded %v", top)
				}
				close(ready)
				<-release
				g.Exit()
			})
			<-ready
		}
		stall()
		stall()

		handles := make([]*epoch.Handle, churners)
		for i := range handles {
			handles[i] = c.Register()
		}
		bound := func(st epoch.Stats) uint64 {
			S, B := uint64(st.Slots), uint64(batch)
			O := size + churners + S*B
			return stalls * 3 * O
		}
		var last epoch.Stats
		for round := range rounds {
			if round == 1 {
				stall()
				stall()
			}
			var wg sync.WaitGroup
			for _, h := range handles {
				wg.Go(func() {
					for range perRound {
						g := h.Enter()
						s.push(g, 7)
						g.Exit()
						g = h.Enter()
						if v, ok := s.pop(g); !ok || v == robustPoison {
							t.Errorf("pop = %d, %v: the stack lost a node or popped a reclaimed one", v, ok)
						}
						g.Exit()
					}
				})
			}
			wg.Wait()
			c.Flush()
			last = c.Stats()
			if c.Robust() {
				require.LessOrEqual(t, last.Pending, bound(last), "round %d: pending above the robust bound: %+v", round, last)
			}
			t.Logf("round %d: pending %d (bound %d), era %d, slots %d", round, last.Pending, bound(last), last.Epoch, last.Slots)
		}
		if !c.Robust() {
			require.Greater(t, last.Pending, bound(last), "the classic mode stayed within the robust bound: the test cannot tell them apart")
		}
		close(release)
		stalled.Wait()
		for _, h := range handles {
			h.Unregister()
		}
		require.NoError(t, c.Barrier(context.Background()))
		require.Zero(t, c.Stats().Pending)
		require.NoError(t, c.Close())
	})
}

// Guards enter, load and stall while other goroutines churn, the Collector
// is flushed and closed: every node comes back exactly once and no stalled
// reader ever sees a poisoned one. It runs 256 goroutines on a Collector
// whose Pool nodes are recycled, in both modes.
func TestRobustManyStalledReaders(t *testing.T) {
	const goroutines = 256
	forModes(t, func(t *testing.T, mode []epoch.Option) {
		c := epoch.New(append(mode, epoch.WithBatchSize(16))...)
		s := newRobustStack(c)
		g := c.Enter()
		for i := range 32 {
			s.push(g, int64(i))
		}
		g.Exit()
		var wg sync.WaitGroup
		for i := range goroutines {
			wg.Go(func() {
				for j := range 40 {
					g := c.Enter()
					if j%8 == i%8 {
						if top := epoch.Load(g, &s.head); top != nil {
							time.Sleep(time.Millisecond) // stalled inside the guard
							if v := top.val.Load(); v == robustPoison {
								t.Errorf("a reader saw a reclaimed node")
							}
						}
					}
					s.push(g, int64(i))
					g.Exit()
					g = c.Enter()
					s.pop(g)
					g.Exit()
				}
			})
		}
		wg.Wait()
		g = c.Enter()
		for range 32 {
			_, ok := s.pop(g)
			require.True(t, ok)
		}
		g.Exit()
		require.NoError(t, c.Barrier(context.Background()))
		st := c.Stats()
		require.Equal(t, st.Retired, st.Reclaimed, "%+v", st)
		require.NoError(t, c.Close())
	})
}

// A batch that holds one node a stalled guard loaded, among nodes born
// after the guard, is sifted: the others are recycled, and the stalled
// guard holds back that one node only.
func TestRobustSiftsABatchNodeByNode(t *testing.T) {
	c := epoch.New(epoch.WithRobust(), epoch.WithMaxBatchAge(0))
	s := newRobustStack(c)
	w := c.Register()
	g := w.Enter()
	s.push(g, 1)
	g.Exit()
	reader := c.Enter()
	old := epoch.Load(reader, &s.head)
	g = w.Enter()
	epoch.Retire(g, new(int), func(*int) {}) // held by the reader too: it has no birth era
	g.Flush()                                // a seal: the era moves past the reader's
	g.Exit()
	g = w.Enter()
	for range epoch.DefaultBatchSize - 1 {
		s.push(g, 2)
	}
	for range epoch.DefaultBatchSize { // one batch: the old node and the young ones
		_, ok := s.pop(g)
		require.True(t, ok)
	}
	g.Exit()
	c.Flush()
	require.EqualValues(t, 2, c.Stats().Pending, "the stalled guard held back more than the node it loaded and the plain Retire")
	require.EqualValues(t, 1, old.val.Load(), "the node the stalled guard loaded was reclaimed")
	reader.Exit()
	c.Flush()
	require.Zero(t, c.Stats().Pending)
	require.EqualValues(t, robustPoison, old.val.Load())
	w.Unregister()
	require.NoError(t, c.Close())
}

// A guard that takes a node from Get and publishes it may dereference it
// afterwards: the node's birth is its reservation, raised at Get, so the
// node stays protected when another guard unlinks and retires it.
func TestRobustGetThenPublishIsProtected(t *testing.T) {
	c := epoch.New(epoch.WithRobust(), epoch.WithBatchSize(1), epoch.WithMaxBatchAge(0))
	s := newRobustStack(c)
	g1 := c.Enter()
	w := c.Register()
	s.churn(w, 4)  // the era moves past g1's
	s.push(g1, 42) // g1 takes n from Get and publishes it
	n := s.head.Load()
	g := w.Enter()
	s.pop(g) // another guard unlinks and retires n
	g.Exit()
	c.Flush()
	require.EqualValues(t, 42, n.val.Load(), "a node was reclaimed under the guard that published it")
	g1.Exit()
	c.Flush()
	require.EqualValues(t, robustPoison, n.val.Load())
	w.Unregister()
	require.NoError(t, c.Close())
}

// A guard's first Load at the era it entered ends its first reservation's
// exception as a raise would: a later Load, after the era has moved, raises
// the guard's interval instead of moving its start, so the node the first
// Load returned stays protected after another guard unlinks it.
func TestRobustFirstLoadAtTheEntryEraKeepsItsNode(t *testing.T) {
	c := epoch.New(epoch.WithRobust(), epoch.WithMaxBatchAge(0))
	s := newRobustStack(c)
	w, x := c.Register(), c.Register()
	g := w.Enter()
	advanceEra(x) // past g's entry
	s.push(g, 1)  // so the node's birth comes from a raise: it is known
	g.Exit()
	reader := c.Enter()
	old := epoch.Load(reader, &s.head) // the era has not moved since Enter
	g = w.Enter()
	_, ok := s.pop(g) // unlinks and retires old
	require.True(t, ok)
	g.Flush() // a seal: the era moves past the reader's
	g.Exit()
	epoch.Load(reader, &s.head) // the reader's second reservation
	c.Flush()
	require.EqualValues(t, 1, old.val.Load(), "the node the reader's first Load returned was reclaimed")
	reader.Exit()
	c.Flush()
	require.EqualValues(t, robustPoison, old.val.Load())
	w.Unregister()
	x.Unregister()
	require.NoError(t, c.Close())
}

// A guard may use what it retired, even a node it unlinked without loading
// it (a Swap): retiring ends the first reservation's exception, so a later
// Load after the era has moved raises the guard's interval, which still
// meets the node's life when the guard's Flush hands it to a sweep.
func TestRobustRetireEndsTheFirstReservation(t *testing.T) {
	c := epoch.New(epoch.WithRobust(), epoch.WithMaxBatchAge(0))
	s := newRobustStack(c)
	w, o := c.Register(), c.Register()
	g := w.Enter()
	s.push(g, 1)
	g.Exit()
	g = c.Enter()
	old := s.head.Swap(nil) // unlinked without a Load
	s.pool.Retire(g, old)
	advanceEra(o)          // past g's entry
	epoch.Load(g, &s.head) // g's first reservation after its Retire
	g.Flush()              // hands the node to a sweep that judges by reservations
	c.Flush()
	require.EqualValues(t, 1, old.val.Load(), "the node the guard retired was reclaimed while it was open")
	g.Exit()
	c.Flush()
	require.EqualValues(t, robustPoison, old.val.Load())
	w.Unregister()
	o.Unregister()
	require.NoError(t, c.Close())
}

// advanceEra moves the era on: a guard of h retires an object and seals
// its batch.
func advanceEra(h *epoch.Handle) {
	g := h.Enter()
	epoch.Retire(g, new(int), func(*int) {})
	g.Flush()
	g.Exit()
}
