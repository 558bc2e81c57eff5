package stress_test

// More bugs planted in a copy of the Treiber stack, from an independent
// review of the harness: each must be reported with its diagnosis, with
// the tuned reclamation settings of planted_test.go.

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-reclaim/reclaim/epoch"
	"github.com/go-reclaim/reclaim/hazard"
	"github.com/go-reclaim/reclaim/stress"
)

type rbug int

const (
	rCorrect            rbug = iota
	rReadAfterRetire         // hazard: reset, retire, then read top.value
	rSkipValidate            // hazard: publish the hazard, never re-read head
	rRetireBeforeUnlink      // epoch: retire top before the CAS that unlinks it
	rLoadBeforeEnter         // epoch: reads head before entering the guard
	rRareDrop                // hazard: 1 pop in 256 unlinks two nodes and returns one
)

type rnode struct {
	canary atomicCanary
	value  atomic.Int64
	next   atomic.Pointer[rnode]
}

func (n *rnode) Poison()        { n.canary.Poison() }
func (n *rnode) Poisoned() bool { return n.canary.Poisoned() }

type rstack struct {
	bug     rbug
	panicky bool // 1 free function in 8 panics after reclaiming
	head    atomic.Pointer[rnode]
	l       *stress.Ledger[rnode]
	d       *hazard.Domain
	c       *epoch.Collector
}

func (s *rstack) push(w *stress.Worker, v int) {
	n := new(rnode)
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

func (s *rstack) pop(w *stress.Worker) (int, bool) {
	if s.c != nil {
		return s.popEpoch(w)
	}
	hp := s.d.Acquire()
	defer hp.Release()
	for {
		var top *rnode
		if s.bug == rSkipValidate {
			top = s.head.Load()
			w.Yield()
			if top != nil {
				var tmp atomic.Pointer[rnode]
				tmp.Store(top)
				hazard.TryProtect(hp, top, &tmp) // validates against itself
			}
		} else {
			top = hazard.Protect(hp, &s.head)
		}
		if top == nil {
			return 0, false
		}
		w.Yield()
		if !stress.CheckRead(w, top) {
			return 0, false
		}
		next := top.next.Load()
		if s.bug == rRareDrop && next != nil && w.Rand().IntN(256) == 0 {
			next = next.next.Load()
		}
		if !s.head.CompareAndSwap(top, next) {
			continue
		}
		if s.bug == rReadAfterRetire {
			hp.Reset()
			s.l.Retire(top)
			hazard.Retire(s.d, top, s.l.Reclaim)
			w.Yield()
			return int(top.value.Load()), true // the bug: read after retire, unprotected
		}
		v := int(top.value.Load())
		hp.Reset()
		s.l.Retire(top)
		free := s.l.Reclaim
		if s.panicky && w.Rand().IntN(8) == 0 {
			free = stress.PanicAfter(free)
		}
		hazard.Retire(s.d, top, free)
		return v, true
	}
}

func (s *rstack) popEpoch(w *stress.Worker) (int, bool) {
	var early *rnode
	if s.bug == rLoadBeforeEnter {
		early = s.head.Load() // the bug: read outside the critical section
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
		w.Yield()
		if !stress.CheckRead(w, top) {
			return 0, false
		}
		next := top.next.Load()
		if s.bug == rRetireBeforeUnlink {
			s.l.Retire(top)
			epoch.Retire(g, top, s.l.Reclaim)
			w.Yield()
			if !s.head.CompareAndSwap(top, next) {
				continue
			}
			return int(top.value.Load()), true
		}
		if !s.head.CompareAndSwap(top, next) {
			continue
		}
		v := int(top.value.Load())
		s.l.Retire(top)
		epoch.Retire(g, top, s.l.Reclaim)
		return v, true
	}
}

func (s *rstack) close(h *stress.Harness) {
	if s.c != nil {
		stress.Shutdown(h, s.c.Close)
	} else {
		stress.Shutdown(h, s.d.Close)
	}
	s.l.Verify()
}

// huntPlanted runs one fresh structure per Run until a failure or for. It
// returns the number of Runs and the ledger counts before Close.
func huntPlanted(tb testing.TB, newStack func(*stress.Harness) *rstack, history bool, dur time.Duration, opts ...stress.Option) (runs int, reclaimedInRun int64) {
	h := stress.New(tb, opts...)
	var hist *stress.History
	if history {
		hist = stress.NewHistory(h, stress.StackModel())
	}
	for end := time.Now().Add(dur); !h.Failed() && time.Now().Before(end); runs++ {
		s := newStack(h)
		h.Run(stress.StackMix(hist, s.push, s.pop))
		reclaimedInRun += s.l.Stats().Reclaimed
		s.close(h)
	}
	return runs, reclaimedInRun
}

func epochR(b rbug, opts ...epoch.Option) func(*stress.Harness) *rstack {
	return func(h *stress.Harness) *rstack {
		return &rstack{bug: b, l: stress.NewLedger[rnode](h, nil), c: epoch.New(opts...)}
	}
}

// TestMorePlantedBugsAreCaught: bugs planted in a copy of the Treiber stack that
// the harness must report, with the diagnosis, well within 20 seconds.
func TestMorePlantedBugsAreCaught(t *testing.T) {
	for _, tc := range []struct {
		name    string
		stack   func(*stress.Harness) *rstack
		history bool
		opts    []stress.Option
		want    []string
	}{
		// With the doc's default epoch.New() this is caught after 0.25s to
		// more than 15s in an independent review; batches of 4 catch it at once.
		{"load before enter, epoch batch 4, Ops(500)", epochR(rLoadBeforeEnter, epoch.WithBatchSize(4)), true,
			[]stress.Option{stress.Ops(500)}, []string{"use after reclaim"}},
		{"retire before unlink, epoch default, Ops(500)", epochR(rRetireBeforeUnlink), true,
			[]stress.Option{stress.Ops(500)}, []string{"retired twice", "use after reclaim"}},
		// Caught only because the free function clobbers the value: the
		// default poison writes the Canary alone.
		{"read after retire, poison clobbers value", func(h *stress.Harness) *rstack {
			return &rstack{bug: rReadAfterRetire, d: hazard.New(hazard.WithThreshold(8)),
				l: stress.NewLedger(h, func(n *rnode) { n.value.Store(-1); n.canary.Poison() })}
		}, false, []stress.Option{stress.Ops(4000)}, []string{"which was never added"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			got := stress.Capture(t, func(tb testing.TB) {
				huntPlanted(tb, tc.stack, tc.history, 15*time.Second, tc.opts...)
			})
			took := time.Since(start)
			if !got.Failed() {
				t.Fatalf("the harness missed the planted bug in %v", took)
			}
			if took > 20*time.Second {
				t.Fatalf("caught too late: %v", took)
			}
			if msg := got.Messages()[0]; !containsAny(msg, tc.want) {
				t.Fatalf("the first report is not about the bug: %s", msg)
			}
		})
	}
}
