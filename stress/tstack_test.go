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
	release chan struct{}    // ends the goroutine leakGoroutine starts
	pops    atomic.Int64     // successful epoch pops, for the bugs of the 5th pop
	retires atomic.Int64     // free functions handed out, for the bugs of the 5th retirement
	dropped atomic.Bool      // dropOnce has dropped its element
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

	// The bugs below fire once, deterministically, in the epoch variant.
	duplicate      // the 5th pop pushes its value back as well: a duplicated element
	dropOnce       // a pop after the 4th unlinks two nodes and returns one: a lost element
	neverReclaimed // the 5th retired node's free function forgets it: reclaimed never
	doubleFree     // the 5th retired node's free function frees it twice
	readAfterFree  // the 5th pop reclaims at once, then reads the node
	freeWhileHeld  // peekPop reclaims the node its own reader still holds
	leakGoroutine  // the 5th pop starts a goroutine that outlives the run (until release is closed)
	neverRetired   // the 5th pop unlinks its node and never retires it
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

// deepMix is mix without a History and with twice as many pushes as pops,
// so that the stack is deep and the drain pops many nodes: every bug of
// the 5th pop or retirement gets its chance.
func (s *tstack) deepMix() stress.Mix {
	mix := s.mix(nil)
	mix[0].Weight = 2 // push
	return mix
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
		drop := s.bug == dropOnce && next != nil && s.pops.Load() >= 4 && !s.dropped.Load()
		if drop {
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
		if drop {
			s.dropped.Store(true)
		}
		v := int(top.value.Load())
		fifth := s.pops.Add(1) == 5
		switch {
		case fifth && s.bug == duplicate:
			s.push(w, v)
		case fifth && s.bug == readAfterFree:
			s.l.Retire(top)
			s.l.Reclaim(top) // no grace period
			stress.CheckRead(w, top)
			return v, true
		case fifth && s.bug == leakGoroutine:
			go func() { <-s.release }()
		case fifth && s.bug == neverRetired:
			return v, true
		}
		if s.bug != retireBeforeUnlink {
			s.retire(w, g, top, next)
		}
		return v, true
	}
}

// peekPop is a reader that loads the top node inside a guard and holds it
// while it pops that node itself: the pop's retirement must wait for the
// guard, so the node is intact when the reader checks it afterwards. With
// freeWhileHeld the pop frees the node at once. Epoch variant only.
func (s *tstack) peekPop(w *stress.Worker) {
	g := s.c.Enter()
	defer g.Exit()
	top := epoch.Load(g, &s.head)
	if top == nil || !stress.CheckRead(w, top) || !s.head.CompareAndSwap(top, top.next.Load()) {
		return
	}
	s.l.Retire(top)
	if s.bug == freeWhileHeld {
		s.l.Reclaim(top) // the bug: the reader (this guard) still holds top
	} else {
		epoch.Retire(g, top, s.l.Reclaim)
	}
	w.Yield()
	stress.CheckRead(w, top) // the reader looks at what it holds
	s.push(w, int(top.value.Load()))
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
	fifth := s.retires.Add(1) == 5
	switch {
	case s.panicky && rare:
		return stress.PanicAfter(s.l.Reclaim)
	case fifth && s.bug == neverReclaimed:
		return func(*tnode) {}
	case fifth && s.bug == doubleFree:
		return func(n *tnode) { s.l.Reclaim(n); s.l.Reclaim(n) }
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
