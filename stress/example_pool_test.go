package stress_test

import (
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/go-reclaim/reclaim/epoch"
	"github.com/go-reclaim/reclaim/hazard"
	"github.com/go-reclaim/reclaim/stress"
)

// poolNode is a node of a Treiber stack whose nodes a Pool recycles.
// Embedding the Canary (stress.Canary, or poison.Canary from
// stress/poison in a production type) makes it Poisonable, so the Ledger
// poisons it when the Pool reclaims it.
type poolNode struct {
	stress.Canary
	value int
	next  atomic.Pointer[poolNode]
}

// epochPoolStack is a Treiber stack on an epoch.Pool, wired to a Ledger:
// Alloc after Pool.Get, Retire before Pool.Retire, and the Ledger's
// Reclaim as the Pool's OnReclaim function.
type epochPoolStack struct {
	head atomic.Pointer[poolNode]
	pool *epoch.Pool[poolNode]
	l    *stress.Ledger[poolNode]
}

func newEpochPoolStack(c *epoch.Collector, l *stress.Ledger[poolNode]) *epochPoolStack {
	return &epochPoolStack{pool: epoch.NewPool(c, epoch.OnReclaim(l.Reclaim)), l: l}
}

func (s *epochPoolStack) push(g *epoch.Guard, v int) {
	n := s.pool.Get(g)
	s.l.Alloc(n) // a new life begins: the Ledger reports a reuse before the grace period ended
	n.value = v
	link(&s.head, n)
}

// link pushes n on the stack at head.
func link(head *atomic.Pointer[poolNode], n *poolNode) {
	for {
		top := head.Load()
		n.next.Store(top)
		if head.CompareAndSwap(top, n) {
			return
		}
	}
}

// pop shows where yield points belong. The harness already yields before
// each operation, so a Yield at the start of one adds nothing; the places
// that matter are inside the window between reading a shared pointer and
// the step that trusts it.
func (s *epochPoolStack) pop(w *stress.Worker, g *epoch.Guard) (int, bool) {
	for {
		top := epoch.Load(g, &s.head)
		if top == nil {
			return 0, false
		}
		// 1. After loading a node, before reading it: other workers pop,
		// retire and (with a broken grace period) reclaim it here.
		w.Yield()
		if !stress.CheckRead(w, top) {
			return 0, false
		}
		next := top.next.Load()
		// 2. After reading what the CAS installs, before the CAS: top may
		// be popped, recycled by the Pool and pushed again here, so that
		// the CAS succeeds with a stale next (ABA). A yield anywhere else
		// leaves this window a few nanoseconds wide.
		w.Yield()
		if s.head.CompareAndSwap(top, next) {
			v := top.value
			s.l.Retire(top) // before the Pool's Retire, which may reclaim at once
			s.pool.Retire(g, top)
			return v, true
		}
	}
}

// A Ledger wired into a container whose nodes come from an epoch.Pool:
// epoch.OnReclaim(l.Reclaim) records each reclamation and poisons the
// node before the Pool hands it out again, so the Ledger sees every node
// through all its lives.
func Example_epochPool() {
	got := stress.Capture(nil, func(t testing.TB) {
		h := stress.New(t, stress.Ops(2000))
		l := stress.NewLedger[poolNode](h, nil)
		c := epoch.New()
		s := newEpochPoolStack(c, l)
		h.Run(stress.StackMix(nil,
			func(_ *stress.Worker, v int) { g := c.Enter(); defer g.Exit(); s.push(g, v) },
			func(w *stress.Worker) (int, bool) { g := c.Enter(); defer g.Exit(); return s.pop(w, g) }))
		stress.Shutdown(h, c.Close) // reclaims what is pending
		st := l.Verify()
		fmt.Println("every node reclaimed once per life:", st.Retired == st.Allocated && st.Reclaimed == st.Retired)
	})
	fmt.Println("failed:", got.Failed())
	// Output:
	// every node reclaimed once per life: true
	// failed: false
}

// hazardPoolStack is the same stack on a hazard.Pool.
type hazardPoolStack struct {
	head atomic.Pointer[poolNode]
	pool *hazard.Pool[poolNode]
	l    *stress.Ledger[poolNode]
}

func (s *hazardPoolStack) push(v int) {
	n := s.pool.Get()
	s.l.Alloc(n)
	n.value = v
	link(&s.head, n)
}

func (s *hazardPoolStack) pop(w *stress.Worker) (int, bool) {
	hp := s.pool.Domain().Acquire()
	defer hp.Release()
	for {
		top := hazard.Protect(hp, &s.head)
		if top == nil {
			return 0, false
		}
		w.Yield() // protected: top may be popped and retired, not reclaimed
		if !stress.CheckRead(w, top) {
			return 0, false
		}
		next := top.next.Load()
		w.Yield() // the ABA window, as in the epoch stack
		if s.head.CompareAndSwap(top, next) {
			v := top.value
			s.l.Retire(top)
			s.pool.Retire(top)
			return v, true
		}
	}
}

// A Ledger wired into a container whose nodes come from a hazard.Pool,
// through hazard.OnReclaim, which runs on each object once no hazard
// pointer protects it, before the Pool zeroes it for reuse.
func Example_hazardPool() {
	got := stress.Capture(nil, func(t testing.TB) {
		h := stress.New(t, stress.Ops(2000))
		l := stress.NewLedger[poolNode](h, nil)
		d := hazard.New()
		s := &hazardPoolStack{pool: hazard.NewPool(d, hazard.OnReclaim(l.Reclaim)), l: l}
		h.Run(stress.StackMix(nil,
			func(_ *stress.Worker, v int) { s.push(v) },
			s.pop))
		stress.Shutdown(h, d.Close)
		st := l.Verify()
		fmt.Println("every node reclaimed once per life:", st.Retired == st.Allocated && st.Reclaimed == st.Retired)
	})
	fmt.Println("failed:", got.Failed())
	// Output:
	// every node reclaimed once per life: true
	// failed: false
}
