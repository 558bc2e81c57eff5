package epoch_test

import (
	"context"
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/go-reclaim/reclaim/epoch"
	"github.com/go-reclaim/reclaim/internal/procs"
	"github.com/go-reclaim/reclaim/stress"
)

// The stress tests of this file are written on package stress, the harness
// the module ships, as a container author would write them:
//
//   - a Harness (stress.New) runs 4×GOMAXPROCS workers that draw operations
//     from a Mix, with injected yield points, a seed that replays each
//     worker's choices, and a goroutine leak check;
//   - a stress.Ledger follows every node through its lives: Alloc when it is
//     allocated (or handed out again by a Pool), Retire just before it is
//     retired, and Reclaim as the free function (or the Pool's OnReclaim),
//     which poisons it; it reports a node reclaimed twice, reclaimed before
//     it was retired, reused before its grace period ended, still reachable
//     when retired, and, at the end, retired and never reclaimed;
//   - the node embeds a stress.Canary and every read of a shared node is
//     followed by stress.CheckRead, so a reader that touches a reclaimed
//     node fails at the read, with where the node was retired and
//     reclaimed; the poison also overwrites the node's plain fields, so
//     under -race such a read is a data race with the free function;
//   - stress.StackMix accounts for the values: each pushed exactly once is
//     popped exactly once (the final drain included), which a recycled
//     node reused too early breaks (ABA).
//
// Free functions may run on any goroutine, the collector's aging timer
// included: the Ledger is safe for that.
//
// Each test runs a fixed number of operations; STRESS_SCALE multiplies
// them, for soak runs: STRESS_SCALE=50 go test -race -run Stress ./epoch/.
// A failure prints the seed and the command that replays it.

const (
	// stressOps is the number of operations of a Treiber Run.
	stressOps = 8000
	// rcuOps is the number of operations of an RCU Run.
	rcuOps = 40000
	// stressBarrier bounds each Barrier that is expected to succeed.
	stressBarrier = 10 * time.Second
	// stressHang is how long a Run may take before the harness reports it
	// as hung, with every goroutine's stack (a broken collector can leave
	// a goroutine spinning on a slot that never becomes idle).
	stressHang = 30 * time.Second
	// stressStall is how long a stalled guard is held.
	stressStall = time.Millisecond
	// stressPoison is what a reclaimed node's value becomes.
	stressPoison = 0xdeaddeaddeaddead
)

// newStressHarness returns the harness of one stress test: the Run's
// operations, scaled by STRESS_SCALE, and its hang limit, scaled likewise.
func newStressHarness(t *testing.T, ops int, opts ...stress.Option) *stress.Harness {
	return stress.New(t, append([]stress.Option{stress.Ops(ops), stress.Timeout(time.Duration(max(1, stress.Scale()) * float64(stressHang)))}, opts...)...)
}

// TestStressTreiberPoolManyGoroutines is Go's common case, which the
// robust mode is for: 1024 workers on two processors, so that most of them
// are descheduled inside guards at any moment, with every check of
// TestStressTreiberPool (exactly-once reclamation through the Ledger,
// poison and CheckRead on every read, the values' accounting), in both
// modes.
func TestStressTreiberPoolManyGoroutines(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
	forModes(t, func(t *testing.T, mode []epoch.Option) {
		stressTreiber(t, epoch.DefaultBatchSize, true, mode, 4*stressOps, stress.Goroutines(1024))
	})
}

// TestStressTreiberPoolWhileGOMAXPROCSChanges changes GOMAXPROCS
// throughout TestStressTreiberPool's run: pooled guards take the home slot
// of the P they enter on (internal/registry), and Ps come and go, above
// and below the number the home slots were sized for.
func TestStressTreiberPoolWhileGOMAXPROCSChanges(t *testing.T) {
	// 2 while the first Collector is made, so that the flips go above the
	// Ps its home slots are sized for whatever the machine.
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
	defer procs.Flip(func() { time.Sleep(time.Millisecond) })()
	forModes(t, func(t *testing.T, mode []epoch.Option) {
		stressTreiber(t, 2, true, mode, stressOps)
	})
}

// TestStressTreiberRetire retires popped nodes with epoch.Retire; the
// Ledger's Reclaim is the free function, and the garbage collector frees
// the nodes.
func TestStressTreiberRetire(t *testing.T) {
	forModes(t, func(t *testing.T, mode []epoch.Option) {
		for _, batch := range []int{2, epoch.DefaultBatchSize} {
			t.Run(fmt.Sprintf("batch=%d", batch), func(t *testing.T) { stressTreiber(t, batch, false, mode, stressOps) })
		}
	})
}

// TestStressTreiberPool recycles nodes through epoch.Pool; the Ledger's
// Reclaim is the Pool's OnReclaim, and Get hands the nodes out again,
// zeroed.
func TestStressTreiberPool(t *testing.T) {
	forModes(t, func(t *testing.T, mode []epoch.Option) {
		for _, batch := range []int{2, epoch.DefaultBatchSize} {
			t.Run(fmt.Sprintf("batch=%d", batch), func(t *testing.T) { stressTreiber(t, batch, true, mode, stressOps) })
		}
	})
}

// stressNode is a stack node. Its plain fields are written by the pusher
// before it publishes the node and by the poison after reclamation, and
// read by poppers under a guard: a read after reclamation fails CheckRead
// and is a data race.
type stressNode struct {
	stress.Canary
	val  uint64
	next *stressNode
}

// poisonStressNode is the Ledger's poison: the Canary, and the fields a
// reader reads.
func poisonStressNode(n *stressNode) {
	n.Poison()
	n.val, n.next = stressPoison, nil
}

// stressStack is a Treiber stack on a Collector, its nodes allocated with
// new and retired with epoch.Retire, or recycled through an epoch.Pool,
// and wired to a Ledger.
type stressStack struct {
	c       *epoch.Collector
	l       *stress.Ledger[stressNode]
	pool    *epoch.Pool[stressNode] // nil: new and epoch.Retire
	head    atomic.Pointer[stressNode]
	retires atomic.Uint64 // Retire calls that have returned
	workers []stressWorker
}

// stressWorker is what a worker keeps between operations.
type stressWorker struct {
	h    *epoch.Handle // registered on first use, unregistered at the end
	held *epoch.Guard  // a session's guard, refreshed between its operations
}

func (s *stressStack) worker(w *stress.Worker) *stressWorker {
	st := &s.workers[w.ID()]
	if st.h == nil {
		st.h = s.c.Register()
	}
	return st
}

// alloc returns a node for a push: new, or from the Pool, which must hand
// it out zeroed. Either way a new life begins for the Ledger.
func (s *stressStack) alloc(w *stress.Worker, g *epoch.Guard) *stressNode {
	var n *stressNode
	if s.pool != nil {
		n = s.pool.Get(g)
		if *n != (stressNode{}) {
			w.Errorf("Pool.Get returned a node that is not zeroed: %+v", *n)
		}
	} else {
		n = new(stressNode)
	}
	s.l.Alloc(n)
	return n
}

// retire hands n to the collector, after telling the Ledger.
func (s *stressStack) retire(g *epoch.Guard, n *stressNode) {
	s.l.Retire(n)
	if s.pool != nil {
		s.pool.Retire(g, n)
	} else {
		epoch.Retire(g, n, s.l.Reclaim)
	}
	s.retires.Add(1)
}

// enter opens the guard of one push or pop, in one of the ways a program
// does: the guard of the worker's session if one is open; else a pooled
// Collector.Enter; a guard of the worker's Handle; or a guard nested in an
// outer guard of the same Handle, the operation running under the inner
// one or under the outer after the inner exited (which must not unpin the
// slot).
func (s *stressStack) enter(w *stress.Worker) (g *epoch.Guard, exit func()) {
	st := s.worker(w)
	if st.held != nil {
		return st.held, func() {}
	}
	switch w.Rand().IntN(4) {
	case 0, 1:
		g = s.c.Enter()
		return g, g.Exit
	case 2:
		g = st.h.Enter()
		return g, g.Exit
	}
	outer, inner := st.h.Enter(), st.h.Enter()
	if w.Rand().IntN(2) == 0 {
		return inner, func() { inner.Exit(); outer.Exit() }
	}
	inner.Exit()
	return outer, outer.Exit
}

func (s *stressStack) push(w *stress.Worker, v int) {
	g, exit := s.enter(w)
	defer exit()
	n := s.alloc(w, g)
	n.val = uint64(v)
	for {
		top := s.head.Load()
		n.next = top
		if s.head.CompareAndSwap(top, n) {
			return
		}
	}
}

func (s *stressStack) pop(w *stress.Worker) (int, bool) {
	g, exit := s.enter(w)
	defer exit()
	for {
		top := epoch.Load(g, &s.head)
		if top == nil {
			return 0, false
		}
		w.Yield() // others pop, retire and (with a broken grace period) reclaim top here
		if !stress.CheckRead(w, top) {
			return 0, false
		}
		next := top.next
		w.Yield() // top may be popped, recycled and pushed again here (ABA)
		if !s.head.CompareAndSwap(top, next) {
			continue
		}
		v := int(top.val)
		if !stress.CheckRead(w, top) {
			return 0, false
		}
		s.retire(g, top)
		return v, true
	}
}

// mix is StackMix's push, pop and drain on s, with:
//
//   - "session": one guard of the worker's Handle held over up to 16
//     pushes and pops, refreshed between them (a Barrier must still
//     complete: a refreshed guard flushes its batch and lets the epoch
//     advance);
//   - "barrier": Barrier while the others push, pop, retire and call
//     Barrier, which must reclaim everything retired before it began;
//   - a stalled guard (stress.StallGuard) and a Handle abandoned with a
//     retired node in its batch (stress.AbandonHandle);
//   - Finally "walk" (before the drain): every node still in the stack is
//     healthy and neither retired nor reclaimed, and "unregister".
func (s *stressStack) mix() stress.Mix {
	stack := stress.StackMix(nil, s.push, s.pop)
	pushPop := stress.Mix{stack[0], stack[1]}
	for i := range stack {
		if stack[i].Weight > 0 {
			stack[i].Weight *= 4
		}
	}
	return append(stress.Mix{
		stress.Finally("walk", s.walk),
		{Name: "session", Weight: 1, Do: func(w *stress.Worker) {
			st := s.worker(w)
			st.held = st.h.Enter()
			defer func() { st.held.Exit(); st.held = nil }()
			for i := range 1 + w.Rand().IntN(16) {
				if i > 0 {
					st.held.Refresh()
				}
				pushPop[w.Rand().IntN(2)].Do(w)
			}
		}},
		{Name: "barrier", Weight: s.barrierWeight(), Do: s.barrier},
		stress.StallGuard(s.c, stressStall),
		stress.AbandonHandle(s.c, func(w *stress.Worker, g *epoch.Guard) { s.retire(g, s.alloc(w, g)) }),
	}, append(stack, stress.Finally("unregister", func(*stress.Worker) {
		for i := range s.workers {
			if h := s.workers[i].h; h != nil {
				h.Unregister()
			}
		}
	}))...)
}

// barrierWeight is 1, or 0 with more than 64 workers: a Barrier waits for
// every worker to leave its guard once, a full round of the scheduler with
// 1024 workers, and under -race the barriers alone would take minutes.
func (s *stressStack) barrierWeight() int {
	if len(s.workers) > 65 {
		return 0
	}
	return 1
}

// barrier checks that a Barrier, while the other workers run, reclaims
// everything whose Retire returned before it began.
func (s *stressStack) barrier(w *stress.Worker) {
	before := s.retires.Load()
	ctx, cancel := context.WithTimeout(context.Background(), stressBarrier)
	defer cancel()
	if err := s.c.Barrier(ctx); err != nil {
		w.Errorf("Barrier while workers run: %v", err)
		return
	}
	st := s.c.Stats()
	if st.Reclaimed < before {
		w.Errorf("Barrier returned with %d reclaimed, but %d retired before it began", st.Reclaimed, before)
	}
}

// walk checks the nodes still in the stack, after the workers stopped.
func (s *stressStack) walk(w *stress.Worker) {
	limit := s.l.Stats().Allocated
	var k int64
	for n := s.head.Load(); n != nil; n = n.next {
		if k++; k > limit {
			w.Errorf("the stack holds more nodes than were allocated (%d): a cycle", limit)
			return
		}
		s.l.Reachable(n)
		if !stress.CheckRead(w, n) {
			return
		}
	}
}

// stressTreiber runs the Treiber stack on a Collector with the given batch
// size, pooled or not, then checks the collector's Stats against the
// Ledger.
func stressTreiber(t *testing.T, batch int, pooled bool, mode []epoch.Option, ops int, opts ...stress.Option) {
	h := newStressHarness(t, ops, opts...)
	c := epoch.New(append(mode, epoch.WithBatchSize(batch))...)
	s := &stressStack{
		c:       c,
		l:       stress.NewLedger(h, poisonStressNode),
		workers: make([]stressWorker, h.Goroutines()+1),
	}
	if pooled {
		s.pool = epoch.NewPool(c, epoch.OnReclaim(s.l.Reclaim))
	}
	res := h.Run(s.mix())
	if h.Failed() {
		stress.Shutdown(h, c.Close)
		return
	}

	// Quiescent: everything retired is reclaimed by Barrier, and counted.
	ctx, cancel := context.WithTimeout(context.Background(), stressBarrier)
	defer cancel()
	require.NoError(h, c.Barrier(ctx))
	st, ls := c.Stats(), s.l.Stats()
	require.Zero(h, st.Guards, "guards open after the workers exited: %+v", st)
	require.Zero(h, st.Pending, "pending after Barrier: %+v", st)
	require.EqualValues(h, ls.Retired, st.Retired, "Stats().Retired vs the Ledger's retires: %+v", st)
	require.Equal(h, st.Retired, st.Reclaimed, "%+v", st)
	require.NoError(h, stress.Shutdown(h, c.Close))
	require.Zero(h, c.Stats().Pending)

	// Ledger: every node retired was reclaimed exactly once, and the
	// drain emptied the stack, so every life ended.
	ls = s.l.Verify()
	require.Zero(h, ls.Violations)
	require.Equal(h, ls.Allocated, ls.Retired, "nodes allocated vs retired after the drain: %+v", ls)
	require.Equal(h, ls.Retired, ls.Reclaimed, "%+v", ls)
	t.Logf("%v; %+v; epoch %d; %d barriers, %d sessions", res, ls, st.Epoch, res.Counts["barrier"], res.Counts["session"])
}

// TestStressRCUSwap is the RCU pattern: readers load a shared config under
// a guard, some over sessions of many reads in one guard refreshed between
// them, while writers swap in a new config and retire the old one (batch
// size 1: every retire tries to reclaim) and now and then, after a pause
// that lets the readers catch up with the epoch, wait for it with Barrier.
// Barrier must return, because a refreshed guard cannot hold the old
// config, and the old config must be reclaimed (poisoned) by then, while no
// reader ever sees a poisoned one.
func TestStressRCUSwap(t *testing.T) {
	h := newStressHarness(t, rcuOps)
	c := epoch.New(epoch.WithBatchSize(1))
	l := stress.NewLedger(h, func(x *rcuConfig) { x.Poison(); x.a, x.b = stressPoison, 0 })
	var cur atomic.Pointer[rcuConfig]
	first := &rcuConfig{a: 1, b: 1}
	l.Alloc(first)
	cur.Store(first)
	var gen atomic.Uint64
	gen.Store(1)
	handles := make([]*epoch.Handle, h.Goroutines()+1)

	read := func(w *stress.Worker, g *epoch.Guard) {
		x := epoch.Load(g, &cur)
		w.Yield()
		if stress.CheckRead(w, x) && x.a != x.b {
			w.Errorf("reader saw a torn config: a=%#x b=%#x", x.a, x.b)
		}
	}
	res := h.Run(stress.Mix{
		{Name: "read", Weight: 6, Do: func(w *stress.Worker) {
			g := c.Enter()
			defer g.Exit()
			read(w, g)
		}},
		{Name: "read-session", Weight: 2, Do: func(w *stress.Worker) {
			if handles[w.ID()] == nil {
				handles[w.ID()] = c.Register()
			}
			g := handles[w.ID()].Enter()
			defer g.Exit()
			for i := range 1 + w.Rand().IntN(64) {
				if i > 0 {
					g.Refresh()
				}
				read(w, g)
			}
		}},
		{Name: "swap", Weight: 2, Do: func(w *stress.Worker) {
			v := gen.Add(1)
			x := &rcuConfig{a: v, b: v}
			l.Alloc(x)
			g := c.Enter()
			old := cur.Swap(x)
			l.Retire(old)
			epoch.Retire(g, old, l.Reclaim)
			g.Exit()
			if w.Rand().IntN(4) != 0 {
				return
			}
			time.Sleep(time.Duration(w.Rand().IntN(100)) * time.Microsecond)
			ctx, cancel := context.WithTimeout(context.Background(), stressBarrier)
			defer cancel()
			if err := c.Barrier(ctx); err != nil {
				w.Errorf("Barrier with readers refreshing their guards: %v", err)
				return
			}
			if !old.Poisoned() {
				w.Errorf("Barrier returned before config %d, retired before it, was reclaimed", old.a)
			}
		}},
		stress.Finally("unregister", func(*stress.Worker) {
			for _, hd := range handles {
				if hd != nil {
					hd.Unregister()
				}
			}
		}),
	})
	require.NoError(h, stress.Shutdown(h, c.Close))
	if h.Failed() {
		return
	}
	last := cur.Load()
	l.Reachable(last) // the current config was not retired, nor reclaimed
	stress.CheckRead(h, last)
	ls := l.Verify()
	require.Zero(h, ls.Violations)
	require.Equal(h, ls.Allocated-1, ls.Retired, "every config but the current one retired: %+v", ls)
	require.Equal(h, ls.Retired, ls.Reclaimed, "%+v", ls)
	st := c.Stats()
	require.EqualValues(h, ls.Reclaimed, st.Reclaimed, "%+v", st)
	require.Zero(h, st.Pending)
	t.Logf("%v; %d swaps", res, ls.Retired)
}

// rcuConfig is the shared value; a and b are always equal while it is live.
type rcuConfig struct {
	stress.Canary
	a, b uint64
}
