package epoch

import (
	"math"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/go-reclaim/reclaim/internal/fence"
)

type stealNode struct{ v int }

// stealFixture is a robust Collector with a Pool and two Handles, each
// with a guard open and a share of the Pool whose limbo holds one node.
type stealFixture struct {
	c      *Collector
	p      *Pool[stealNode]
	ga, gb *Guard
	a, b   *poolLocal[stealNode] // the shares of ga's and gb's slots
}

func newStealFixture(t *testing.T) *stealFixture {
	c := New(WithRobust(), WithMaxBatchAge(0))
	p := NewPool[stealNode](c)
	ha, hb := c.Register(), c.Register()
	f := &stealFixture{c: c, p: p, ga: ha.Enter(), gb: hb.Enter()}
	p.Retire(f.ga, p.Get(f.ga))
	p.Retire(f.gb, p.Get(f.gb))
	f.a, f.b = p.cached(f.ga), p.cached(f.gb)
	require.NotSame(t, f.a, f.b)
	t.Cleanup(func() {
		f.ga.Exit()
		f.gb.Exit()
		ha.Unregister()
		hb.Unregister()
		require.NoError(t, c.Close())
	})
	return f
}

// ask asks a's limbo for b's seals, as the start of a seal of b would,
// and requires that it asked.
func (f *stealFixture) ask(t *testing.T) {
	t.Helper()
	f.visitA(t)
	require.NotZero(t, f.a.want.Load()&limboAsked, "askLimbo did not ask")
}

// The holder of a slot withdraws an ask for its limbo at its next Retire,
// which then goes on: an ask never makes the holder wait, and the seal that
// asked then steals nothing.
func TestLimboHolderWithdrawsAnAsk(t *testing.T) {
	f := newStealFixture(t)
	f.ask(t)
	f.p.Retire(f.ga, f.p.Get(f.ga))
	require.Zero(t, f.a.want.Load(), "Retire left the ask for its limbo in place")
	f.c.sharedHeavy(true)
	f.p.stealLimbo(f.a, f.b)
	require.Zero(t, f.p.steals.Load(), "a seal stole a limbo whose holder had withdrawn the ask")
	require.Len(t, f.a.limbo.nodes, 2)
}

// The holder waits in Retire while another slot's seal is taking its
// limbo, and goes on once the seal is done.
func TestLimboHolderWaitsForASteal(t *testing.T) {
	f := newStealFixture(t)
	f.a.want.Store(limboStealing)
	done := make(chan struct{})
	x := f.p.Get(f.ga)
	go func() {
		f.p.Retire(f.ga, x)
		close(done)
	}()
	select {
	case <-done:
		t.Fatal("Retire touched its limbo while another slot's seal was stealing it")
	case <-time.After(50 * time.Millisecond):
	}
	f.a.want.Store(0)
	<-done
	require.Len(t, f.a.limbo.nodes, 2)
}

// A seal steals nothing while the holder is in Retire, nor, where fences
// are asymmetric, until a heavy fence began after the ask; it leaves the
// ask for a later seal, which seals the limbo into the slot's sealed
// batches once both hold.
func TestLimboStealNeedsAnIdleHolderAndAFenceAfterTheAsk(t *testing.T) {
	f := newStealFixture(t)
	if fence.Asymmetric {
		f.c.heavy.SetLastStart(math.MaxInt64) // no shared fence starts without fresh
		f.ask(t)
		f.p.stealLimbo(f.a, f.b)
		require.Zero(t, f.p.steals.Load(), "a seal stole a limbo with no heavy fence after the ask")
		require.NotZero(t, f.a.want.Load()&limboAsked, "the seal dropped the ask")
	} else {
		f.ask(t)
	}

	f.a.busy.Store(1) // the holder is in Retire
	f.c.sharedHeavy(true)
	f.p.stealLimbo(f.a, f.b)
	require.Zero(t, f.p.steals.Load(), "a seal stole the limbo of a holder in Retire")
	require.NotZero(t, f.a.want.Load()&limboAsked, "the seal dropped the ask")
	f.a.busy.Store(0)

	sealed := len(f.a.sealed)
	f.p.stealLimbo(f.a, f.b) // a later seal, after the fence
	require.Zero(t, f.a.want.Load(), "the seal left the handshake in place")
	require.EqualValues(t, 1, f.p.steals.Load())
	require.Len(t, f.a.sealed, sealed+1, "the stolen limbo is not among the slot's sealed batches")
	require.True(t, f.a.limbo == nil || len(f.a.limbo.nodes) == 0, "the stolen nodes are still in the limbo")
	require.True(t, f.a.sealed[sealed].heldBy(f.a.owner), "the stolen node, retired by the open guard, is not marked as its")

	f.visitA(t)
	require.Zero(t, f.a.want.Load(), "a seal asked for a limbo that a steal left empty, with nothing retired since")

	f.p.Retire(f.ga, f.p.Get(f.ga)) // the holder opens a new limbo
	require.Len(t, f.a.limbo.nodes, 1)
	f.ask(t)
}

// visitA asks a's limbo for b's seals, as ask does, if a seal would.
func (f *stealFixture) visitA(t *testing.T) {
	t.Helper()
	for range 2 {
		if o, turn := f.p.visit(f.b); o != nil {
			f.p.askLimbo(o, turn)
			return
		}
	}
	t.Fatal("a seal of b never visited a")
}

// Holders retire into their shares while other goroutines, as seals do,
// visit the shares in turn, ask for their limbos, fence and steal, on more
// processors than goroutines, so that asks, withdrawals, stamps and steals
// interleave with the holders' sections and seals. Every node retired is
// reclaimed exactly once (by Close at the latest), and a steal that
// overlapped a holder's section is a data race under the race detector.
func TestLimboStealRacesRetire(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(4))
	var (
		mu        sync.Mutex
		retired   = map[int]bool{}
		reclaimed = map[int]int{}
		ids       atomic.Int64
		done      atomic.Bool
	)
	c := New(WithRobust(), WithMaxBatchAge(0))
	p := NewPool(c, OnReclaim(func(n *stealNode) {
		mu.Lock()
		reclaimed[n.v]++
		mu.Unlock()
	}))
	retire := func(g *Guard) {
		x := p.Get(g)
		x.v = int(ids.Add(1))
		mu.Lock()
		retired[x.v] = true
		mu.Unlock()
		p.Retire(g, x)
	}
	const holders, stealers, ops = 3, 2, 20_000
	var hw, sw sync.WaitGroup
	for h := range holders {
		hw.Go(func() {
			hd := c.Register()
			defer hd.Unregister()
			for i := range ops {
				g := hd.Enter()
				retire(g)
				if (i+h)%97 == 0 {
					runtime.Gosched() // descheduled inside the guard
				}
				g.Exit()
			}
		})
	}
	for range stealers {
		sw.Go(func() {
			hd := c.Register()
			defer hd.Unregister()
			g := hd.Enter()
			defer g.Exit()
			retire(g) // the stealer's own share, which lends batches
			l := p.cached(g)
			for i := 0; !done.Load(); i++ {
				if o, turn := p.visit(l); o != nil {
					p.askLimbo(o, turn)
					c.sharedHeavy(i%8 == 0)
					p.stealLimbo(o, l)
				}
			}
		})
	}
	hw.Wait()
	done.Store(true)
	sw.Wait()
	require.NoError(t, c.Close())
	mu.Lock()
	defer mu.Unlock()
	require.Len(t, retired, holders*ops+stealers)
	for id := range retired {
		require.Equal(t, 1, reclaimed[id], "node %d reclaimed %d times", id, reclaimed[id])
	}
	require.Len(t, reclaimed, len(retired), "a node never retired was reclaimed")
	require.Positive(t, p.steals.Load(), "no limbo was stolen: the test did not exercise the handshake")
}

// Retire of another Pool's node panics (in a checked Pool) before it
// enters its section on the limbo, so the slot's limbo stays open to other
// slots' seals.
func TestLimboForeignNodePanicLeavesNoSectionOpen(t *testing.T) {
	c := New(WithRobust(), WithGuardTracking(), WithMaxBatchAge(0))
	p, other := NewPool[stealNode](c), NewPool[stealNode](c)
	h := c.Register()
	g := h.Enter()
	p.Retire(g, p.Get(g))
	l := p.cached(g)
	require.PanicsWithValue(t,
		"epoch: Pool.Retire of a node that did not come from this Pool's Get (with WithRobust, a Pool keeps each node's birth era beside it)",
		func() { p.Retire(g, other.Get(g)) })
	require.Zero(t, l.busy.Load(), "the panic left the holder's section open")
	g.Exit()
	h.Unregister()
	require.NoError(t, c.Close())
}

// The seals of all slots take turns together: one seal from each of many
// slots visits as many different shares, so that every share is asked and
// judged as often however rarely its slot and the visitors seal (each
// slot's own cursor had the first seal of every slot visit the same share).
func TestVisitsTakeTurnsAcrossSlots(t *testing.T) {
	const n = 100
	c := New(WithRobust(), WithMaxBatchAge(0))
	p := NewPool[stealNode](c)
	var shares []*poolLocal[stealNode]
	var handles []*Handle
	for range n {
		h := c.Register()
		g := h.Enter()
		p.Retire(g, p.Get(g))
		shares = append(shares, p.cached(g))
		g.Exit()
		handles = append(handles, h)
	}
	visited := map[*poolLocal[stealNode]]bool{}
	for _, l := range shares {
		if o, _ := p.visit(l); o != nil {
			visited[o] = true
		}
	}
	require.GreaterOrEqual(t, len(visited), n-2, "one seal from each of %d slots visited only %d shares", n, len(visited))
	for _, h := range handles {
		h.Unregister()
	}
	require.NoError(t, c.Close())
}
