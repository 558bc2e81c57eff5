package stress_test

import (
	"slices"
	"sync/atomic"

	"github.com/go-reclaim/reclaim/epoch"
	"github.com/go-reclaim/reclaim/hazard"
	"github.com/go-reclaim/reclaim/stress"
)

// tstack is a Treiber stack written for the harness's own tests, on epoch
// or hazard pointers, with a Ledger on its nodes and one bug planted on
// demand. Its fields are atomic, so that a planted bug is caught by the
// harness's checks and not by the race detector, which would fail the real
// test; race_test.go shows the detector's side with plain fields.
type tstack struct {
	bug     bug
	panicky bool // some free functions panic after reclaiming
	head    atomic.Pointer[tnode]
	l       *stress.Ledger[tnode]
	c       *epoch.Collector // nil for the hazard variant
	d       *hazard.Domain   // nil for the epoch variant
}

// bug is a bug planted in tstack.
type bug int

const (
	correct            bug = iota
	noGrace                // pop reclaims the node at once, not through the scheme
	retireReachable        // pop sometimes retires the new top, still reachable, instead of the node it unlinked
	doubleRetire           // pop sometimes retires the node twice, telling the ledger both times
	doubleReclaim          // pop sometimes hands the node to the scheme twice, telling the ledger once
	skipRevalidate         // the hazard pop publishes its hazard pointer without re-reading head
	dropOnPop              // pop sometimes unlinks two nodes and returns one
	loadBeforeEnter        // the epoch pop reads head before it enters its guard
	retireBeforeUnlink     // the epoch pop retires top before the CAS that unlinks it
	readAfterRetire        // the hazard pop resets, retires, then reads top's value
)

type tnode struct {
	canary atomicCanary
	value  atomic.Int64
	next   atomic.Pointer[tnode]
}

// Poison and Poisoned make *tnode Poisonable: the Ledger poisons it.
func (n *tnode) Poison()        { n.canary.Poison() }
func (n *tnode) Poisoned() bool { return n.canary.Poisoned() }

// atomicCanary is stress.Canary with atomic accesses.
type atomicCanary struct{ w atomic.Uint64 }

func (c *atomicCanary) Poison()        { c.w.Store(stress.PoisonWord) }
func (c *atomicCanary) Poisoned() bool { return c.w.Load() != 0 }

func newEpochStack(h *stress.Harness, b bug) *tstack {
	return &tstack{bug: b, l: stress.NewLedger[tnode](h, nil), c: epoch.New(epoch.WithBatchSize(4))}
}

func newHazardStack(h *stress.Harness, b bug) *tstack {
	return &tstack{bug: b, l: stress.NewLedger[tnode](h, nil), d: hazard.New(hazard.WithThreshold(8))}
}

// mix is StackMix on s, with a walk that checks the ledger for every node
// still in the stack before the drain empties it.
func (s *tstack) mix(hist *stress.History) stress.Mix {
	mix := stress.StackMix(hist, s.push, s.pop)
	walk := stress.Finally("walk", func(w *stress.Worker) {
		for n, i := s.head.Load(), 0; n != nil && i < 1<<20; n, i = n.next.Load(), i+1 {
			s.l.Reachable(n)
		}
	})
	return slices.Insert(mix, len(mix)-1, walk)
}

// close reclaims everything and verifies the ledger.
func (s *tstack) close(h *stress.Harness) {
	if s.c != nil {
		stress.Shutdown(h, s.c.Close)
	} else {
		stress.Shutdown(h, s.d.Close)
	}
	s.l.Verify()
}

func (s *tstack) push(w *stress.Worker, v int) {
	n := new(tnode)
	n.value.Store(int64(v))
	s.l.Alloc(n)
	for {
		top := s.head.Load()
		n.next.Store(top)
		if s.head.CompareAndSwap(top, n) {
			return
		}
	}
}

func (s *tstack) pop(w *stress.Worker) (int, bool) {
	if s.d != nil {
		return s.popHazard(w)
	}
	var early *tnode
	if s.bug == loadBeforeEnter {
		early = s.head.Load() // the bug: a load outside the guard
		w.Yield()
	}
	g := s.c.Enter()
	defer g.Exit()
	for {
		top := epoch.Load(g, &s.head)
		if early != nil {
			top, early = early, nil
		}
		if top == nil {
			return 0, false
		}
		w.Yield() // another worker may pop and retire top here
		if !stress.CheckRead(w, top) {
			return 0, false
		}
		next := top.next.Load()
		if s.bug == dropOnPop && next != nil && w.Rand().IntN(16) == 0 {
			next = next.next.Load()
		}
		if s.bug == retireBeforeUnlink {
			s.l.Retire(top)
			epoch.Retire(g, top, s.l.Reclaim)
			w.Yield()
		}
		if !s.head.CompareAndSwap(top, next) {
			continue
		}
		v := int(top.value.Load())
		if s.bug != retireBeforeUnlink {
			s.retire(w, g, top, next)
		}
		return v, true
	}
}

func (s *tstack) retire(w *stress.Worker, g *epoch.Guard, top, next *tnode) {
	rare := w.Rand().IntN(8) == 0
	switch {
	case s.bug == noGrace:
		s.l.Retire(top)
		s.l.Reclaim(top)
	case s.bug == retireReachable && rare && next != nil:
		s.l.Retire(next)
		epoch.Retire(g, next, s.l.Reclaim)
	case s.bug == doubleRetire && rare:
		s.l.Retire(top)
		epoch.Retire(g, top, s.l.Reclaim)
		s.l.Retire(top)
		epoch.Retire(g, top, s.l.Reclaim)
	case s.bug == doubleReclaim && rare:
		s.l.Retire(top)
		epoch.Retire(g, top, s.l.Reclaim)
		epoch.Retire(g, top, s.l.Reclaim)
	default:
		s.l.Retire(top)
		epoch.Retire(g, top, s.free(rare))
	}
}

// free is the free function for one retirement.
func (s *tstack) free(rare bool) func(*tnode) {
	if s.panicky && rare {
		return stress.PanicAfter(s.l.Reclaim)
	}
	return s.l.Reclaim
}

func (s *tstack) popHazard(w *stress.Worker) (int, bool) {
	hp := s.d.Acquire()
	defer hp.Release()
	var stale atomic.Pointer[tnode]
	for {
		var top *tnode
		if s.bug == skipRevalidate {
			top = s.head.Load()
			w.Yield() // top may be popped, retired and reclaimed here
			stale.Store(top)
			if top != nil {
				hazard.TryProtect(hp, top, &stale) // the bug: validates against a copy, not head
			}
		} else {
			w.Yield()
			top = hazard.Protect(hp, &s.head)
		}
		if top == nil {
			return 0, false
		}
		w.Yield()
		if !stress.CheckRead(w, top) {
			return 0, false
		}
		if !s.head.CompareAndSwap(top, top.next.Load()) {
			continue
		}
		if s.bug == readAfterRetire {
			hp.Reset()
			s.l.Retire(top)
			hazard.Retire(s.d, top, s.l.Reclaim)
			w.Yield()
			return int(top.value.Load()), true // the bug: top is no longer protected
		}
		v := int(top.value.Load())
		hp.Reset()
		s.l.Retire(top)
		if s.bug == noGrace {
			s.l.Reclaim(top)
		} else {
			hazard.Retire(s.d, top, s.free(w.Rand().IntN(8) == 0))
		}
		return v, true
	}
}
