package epoch

// The collector-side operations (Close, Barrier, Flush and Guard.Flush,
// the aging tick, the claim by which a collector takes an idle slot)
// racing with guards that enter, load, retire and exit at the same time,
// written as an adversarial review; classic mode, and robust under
// RECLAIM_TEST_MODE=robust.
//
// Every object these tests retire goes through a ledger: its state word is
// live, retired or reclaimed, changed with compare-and-swap, so that a
// free function (or OnReclaim) that runs twice, or on an object that was
// never retired, is caught where it happens; a Pool node handed out again
// by Get must have been reclaimed first. Readers check, under their guard,
// that what they loaded is not reclaimed, when they load it and again
// after yielding; the free functions also overwrite the object's plain
// fields, so that under -race a reader that overlaps one is a data race.
// At the end every retired object must have been reclaimed exactly once.
//
// The tests are in package epoch for testHookClaimed (to hold a claim open
// while the slot's holder tries to get in) and testCellsUnderRace (so that
// Enter's common case, which the race detector otherwise skips, runs under
// -race too). The package's TestMain runs goleak.

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

const (
	rvLive int32 = iota
	rvRetired
	rvReclaimed
)

// What a live object's plain field holds, and what a free function writes.
const rvLiveVal, rvDeadVal = 0x5eed, -1

// rvObj is an object retired with Retire or Defer.
type rvObj struct {
	state atomic.Int32
	val   int  // plain: rvLiveVal until reclaimed
	chain bool // its free function enters and retires a child
	panic bool // its free function panics (after it has counted itself)
	slow  bool // its free function takes a while (and yields)
}

// rvNode is a Pool node. Get zeroes it, so its ledger entry lives beside
// it (rvLedger.cells).
type rvNode struct {
	val int    // rvLiveVal while handed out or retired
	gen uint64 // the life, as the ledger counts them (rvCell.gen)
}

type rvCell struct {
	state atomic.Int32
	gen   atomic.Uint64 // incremented each time Get hands the node out
}

type rvNodeRec struct {
	cell *rvCell
	gen  uint64
}

// rvBoom is what the free functions of TestPanickingFreeFunctionsOnEveryPath
// panic with.
type rvBoom struct{}

type rvLedger struct {
	t    testing.TB
	c    *Collector
	errs atomic.Int64

	head  atomic.Pointer[rvObj]  // a shared object, replaced and retired
	phead atomic.Pointer[rvNode] // a shared Pool node, replaced and retired

	mu    sync.Mutex
	objs  []*rvObj    // every object retired, in order of Retire's return
	nodes []rvNodeRec // every Pool node retired, likewise
	cells sync.Map    // *rvNode -> *rvCell

	inGuard atomic.Int64 // guards open (free functions' own excepted)
	freeing atomic.Int64 // free functions and OnReclaims running
	closed  atomic.Bool  // Close has returned nil

	slowFrees bool         // one free function in 11 takes 20 us
	panicky   bool         // free functions of objects marked so panic
	boomSeq   atomic.Int64 // drives which frees panic
	onReclaim atomic.Int64
}

func newRVLedger(t testing.TB, c *Collector) *rvLedger { return &rvLedger{t: t, c: c} }

func (l *rvLedger) fail(format string, args ...any) {
	l.t.Helper()
	if l.errs.Add(1) <= 8 {
		l.t.Errorf(format, args...)
	}
}

func (l *rvLedger) newObj(chain bool) *rvObj {
	o := &rvObj{val: rvLiveVal, chain: chain}
	seq := l.boomSeq.Add(1)
	o.slow = l.slowFrees && seq%11 == 0
	o.panic = l.panicky && seq%7 == 0
	return o
}

// checkObj is a reader's check of an object it loaded under an open guard.
func (l *rvLedger) checkObj(o *rvObj, where string) {
	if o == nil {
		return
	}
	if s := o.state.Load(); s == rvReclaimed {
		l.fail("%s: object reclaimed under an open guard that loaded it", where)
	}
	if v := o.val; v != rvLiveVal {
		l.fail("%s: object's value %d: reclaimed under an open guard that loaded it", where, v)
	}
}

// retireObj retires o, which the caller has unlinked, under g.
func (l *rvLedger) retireObj(g *Guard, o *rvObj) {
	if !o.state.CompareAndSwap(rvLive, rvRetired) {
		l.fail("object retired twice")
	}
	defer l.record(o) // also if a free function that Retire runs panics
	Retire(g, o, l.freeObj)
}

func (l *rvLedger) record(o *rvObj) {
	l.mu.Lock()
	l.objs = append(l.objs, o)
	l.mu.Unlock()
}

// deferObj retires o through Guard.Defer.
func (l *rvLedger) deferObj(g *Guard) {
	o := l.newObj(false)
	o.state.Store(rvRetired)
	defer l.record(o)
	g.Defer(func() { l.freeObj(o) })
}

func (l *rvLedger) freeObj(o *rvObj) {
	l.freeing.Add(1)
	defer l.freeing.Add(-1)
	if l.closed.Load() {
		l.fail("a free function runs after Close returned nil")
	}
	if !o.state.CompareAndSwap(rvRetired, rvReclaimed) {
		l.fail("free function ran on an object in state %d (reclaimed twice, or never retired)", o.state.Load())
		return
	}
	o.val = rvDeadVal
	if o.slow { // a window for Close, Barrier and Enter to run while a sweep runs
		for end := time.Now().Add(20 * time.Microsecond); time.Now().Before(end); {
			runtime.Gosched()
		}
	}
	if o.chain {
		// A free function may Enter and Retire, even while Close runs.
		g, ok := rvTryEnter(l.c)
		if !ok {
			l.fail("Enter from a free function panicked: the collector is closed to its own free functions")
		} else {
			// Retire may re-raise a panic of the aging timer's: exit anyway.
			defer g.Exit()
			l.checkObj(Load(g, &l.head), "free function's guard")
			l.retireObj(g, l.newObj(false))
		}
	}
	if o.panic {
		panic(rvBoom{})
	}
}

func (l *rvLedger) cell(n *rvNode) *rvCell {
	if v, ok := l.cells.Load(n); ok {
		return v.(*rvCell)
	}
	return nil
}

// getNode is Pool.Get with the ledger's check that the node was reclaimed
// if it was handed out before.
func (l *rvLedger) getNode(p *Pool[rvNode], g *Guard) *rvNode {
	n := p.Get(g)
	cl := l.cell(n)
	if cl == nil {
		v, _ := l.cells.LoadOrStore(n, new(rvCell))
		cl = v.(*rvCell)
	}
	if s := cl.state.Load(); s != rvReclaimed && cl.gen.Load() != 0 {
		l.fail("Pool.Get handed out a node in state %d (not reclaimed since its last Retire)", s)
	}
	gen := cl.gen.Add(1) // before the state: see nodeReclaimed
	cl.state.Store(rvLive)
	n.val, n.gen = rvLiveVal, gen
	return n
}

func (l *rvLedger) retireNode(p *Pool[rvNode], g *Guard, n *rvNode) {
	cl := l.cell(n)
	if !cl.state.CompareAndSwap(rvLive, rvRetired) {
		l.fail("Pool node retired in state %d", cl.state.Load())
	}
	gen := cl.gen.Load()
	defer func() {
		l.mu.Lock()
		l.nodes = append(l.nodes, rvNodeRec{cl, gen})
		l.mu.Unlock()
	}()
	p.Retire(g, n)
}

func (l *rvLedger) reclaimNode(n *rvNode) {
	l.freeing.Add(1)
	defer l.freeing.Add(-1)
	if l.closed.Load() {
		l.fail("an OnReclaim runs after Close returned nil")
	}
	cl := l.cell(n)
	if cl == nil || !cl.state.CompareAndSwap(rvRetired, rvReclaimed) {
		l.fail("OnReclaim ran on a node that was not retired (twice, or never retired)")
		return
	}
	n.val = rvDeadVal
	if l.panicky && l.onReclaim.Add(1)%11 == 0 {
		panic(rvBoom{})
	}
}

// checkNode is a reader's check of a node it loaded under an open guard;
// it returns the node's life, for recheckNode.
func (l *rvLedger) checkNode(n *rvNode, where string) uint64 {
	if n == nil {
		return 0
	}
	gen := n.gen
	cl := l.cell(n)
	if cl == nil {
		l.fail("%s: a published node the ledger does not know", where)
		return gen
	}
	if s := cl.state.Load(); s == rvReclaimed {
		l.fail("%s: Pool node reclaimed under an open guard that loaded it", where)
	}
	if v := n.val; v != rvLiveVal {
		l.fail("%s: Pool node's value %d: reclaimed (or handed out again) under an open guard", where, v)
	}
	return gen
}

func (l *rvLedger) recheckNode(n *rvNode, gen uint64, where string) {
	if n == nil {
		return
	}
	l.checkNode(n, where)
	if cl := l.cell(n); n.gen != gen || cl.gen.Load() != gen {
		l.fail("%s: Pool node handed out again (life %d, now %d) under an open guard that loaded it", where, gen, cl.gen.Load())
	}
}

// nodeReclaimed reports whether the life gen of a node has been reclaimed.
func nodeReclaimed(r rvNodeRec) bool {
	return r.cell.state.Load() == rvReclaimed || r.cell.gen.Load() != r.gen
}

// snapshot returns what has been retired so far.
func (l *rvLedger) snapshot() ([]*rvObj, []rvNodeRec) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.objs[:len(l.objs):len(l.objs)], l.nodes[:len(l.nodes):len(l.nodes)]
}

// unreclaimed counts what of objs and nodes is not reclaimed yet.
func unreclaimed(objs []*rvObj, nodes []rvNodeRec) (o, n int) {
	for _, x := range objs {
		if x.state.Load() != rvReclaimed {
			o++
		}
	}
	for _, r := range nodes {
		if !nodeReclaimed(r) {
			n++
		}
	}
	return o, n
}

// requireAllReclaimed checks, once the collector is closed, that every
// retired object and node was reclaimed (the CASes caught any twice).
func (l *rvLedger) requireAllReclaimed(what string) {
	objs, nodes := l.snapshot()
	if o, n := unreclaimed(objs, nodes); o+n > 0 {
		l.fail("%s: %d of %d objects and %d of %d Pool nodes retired were never reclaimed", what, o, len(objs), n, len(nodes))
	}
}

// rvTry calls op (an Enter or Register) and reports false if it panicked
// because the Collector is closed; any other panic goes on.
func rvTry[T any](op func() T) (v T, ok bool) {
	defer func() {
		if r := recover(); r != nil {
			if r != "epoch: Enter on a closed Collector" && r != "epoch: Register on a closed Collector" {
				panic(r)
			}
			ok = false
		}
	}()
	return op(), true
}

func rvTryEnter(c *Collector) (*Guard, bool)     { return rvTry(c.Enter) }
func rvTryHandleEnter(h *Handle) (*Guard, bool)  { return rvTry(h.Enter) }
func rvTryRegister(c *Collector) (*Handle, bool) { return rvTry(c.Register) }

// rvWatchdog fails the whole binary, with every goroutine's stack, if the
// test has not called the returned stop within d: a hang.
func rvWatchdog(name string, d time.Duration) (stop func()) {
	tm := time.AfterFunc(d, func() {
		buf := make([]byte, 1<<20)
		buf = buf[:runtime.Stack(buf, true)]
		fmt.Fprintf(os.Stderr, "%s: hung for %v; goroutines:\n%s\n", name, d, buf)
		panic(name + ": hung")
	})
	return func() { tm.Stop() }
}

// rvBudget is how long a test runs its trials: each test stays well under
// 3 s under the race detector.
// rvNew is New, in the robust mode under RECLAIM_TEST_MODE=robust (as the
// external tests' newCollector).
func rvNew(opts ...Option) *Collector {
	if os.Getenv("RECLAIM_TEST_MODE") == "robust" {
		opts = append(opts, WithRobust())
	}
	return New(opts...)
}

func rvBudget() time.Duration {
	if testing.Short() {
		return 200 * time.Millisecond
	}
	return 800 * time.Millisecond
}

// rvWork is one guard's worth of a worker's operations: loads and checks
// what is shared, replaces and retires it, defers, nests (on a Handle),
// flushes, holds the guard across a yield and checks again, and may
// Refresh. h is nil for a pooled guard. It returns false once Enter
// panics (the collector is closed).
func (l *rvLedger) rvWork(p *Pool[rvNode], h *Handle, i int, rng *rand.Rand) bool {
	var g *Guard
	var ok bool
	if h != nil {
		g, ok = rvTryHandleEnter(h)
	} else {
		g, ok = rvTryEnter(l.c)
	}
	if !ok {
		return false
	}
	if l.closed.Load() {
		l.fail("Enter returned a guard after Close returned nil")
		g.Exit()
		return false
	}
	l.inGuard.Add(1)
	o := Load(g, &l.head)
	l.checkObj(o, "reader")
	n := Load(g, &l.phead)
	gen := l.checkNode(n, "reader")
	switch rng.IntN(8) {
	case 0, 1:
		if old := l.head.Swap(l.newObj(rng.IntN(6) == 0)); old != nil {
			l.retireObj(g, old)
		}
	case 2, 3:
		x := l.getNode(p, g)
		if old := l.phead.Swap(x); old != nil {
			l.retireNode(p, g, old)
		}
	case 4:
		l.deferObj(g)
	case 5:
		if h != nil { // a nested guard of the Handle, which may outlive the outer one
			inner := h.Enter()
			l.inGuard.Add(1)
			l.checkObj(Load(inner, &l.head), "nested reader")
			if old := l.head.Swap(l.newObj(false)); old != nil {
				l.retireObj(inner, old)
			}
			if rng.IntN(2) == 0 {
				l.recheckNode(n, gen, "outer reader, nested guard open")
				l.inGuard.Add(-1)
				g.Exit() // the outer first: the slot stays pinned for inner
				runtime.Gosched()
				l.checkObj(Load(inner, &l.head), "nested reader after the outer exited")
				l.inGuard.Add(-1)
				inner.Exit()
				return true
			}
			l.inGuard.Add(-1)
			inner.Exit()
		} else {
			g.Flush()
		}
	case 6:
		g.Flush()
	}
	for range 1 + i%4/3*3 { // now and then a longer hold
		runtime.Gosched()
	}
	l.checkObj(o, "reader after a yield")
	l.recheckNode(n, gen, "reader after a yield")
	if i%5 == 0 {
		g.Refresh() // what was loaded before is no longer used
		l.checkObj(Load(g, &l.head), "reader after Refresh")
	}
	l.inGuard.Add(-1)
	g.Exit()
	return true
}

// Close racing with every operation: pooled and Handle guards (nested ones
// too), Retire, Defer, Pool Get and Retire, Refresh, Guard.Flush,
// Collector.Flush, Barrier, the aging tick (every 100 us), GOMAXPROCS
// changes, Register and Unregister, goroutines entering for the first time
// (registry growth), and free functions that Enter and Retire. Close is
// called until it returns nil. Checked: no reader sees what it loaded
// reclaimed; once Close returns nil no guard is open, no free function
// runs, and Enter panics; every retired object is reclaimed exactly once.
//
// Verified to fail (every run, in all three modes: -race, asymmetric
// fences, RECLAIM_FENCE=sc) on: a Close that, finding no guard open,
// flushes and reclaims everything without grace periods (the shape of the
// earlier review's bug: guards entered while its free functions run lose
// what they loaded); an Enter whose common case ignores the closed state
// (under -race through cells=true); a Close that counts open guards
// before its last sweep; a Close that returns with objects pending; a
// sweep that does not count itself in the state (free functions can no
// longer Enter). Under -race only: a Close that does not wait for a sweep
// that another goroutine runs.
func TestCloseRacingGuardsWithLedger(t *testing.T) {
	for _, cells := range []bool{false, true} {
		t.Run(fmt.Sprintf("cells=%v", cells), func(t *testing.T) {
			testCellsUnderRace = cells // Enter's common case under -race too
			defer func() { testCellsUnderRace = false }()
			rvCloseRun(t)
		})
	}
}

// rvRetry is how long a worker of the Close test goes on trying to Enter
// after its first Enter that panicked: those that come while free
// functions run succeed. Bounded, or the workers, whose guards make Close
// return ErrGuardsOpen and whose retires give the next Close more free
// functions to run, could keep the closer from ever getting nil.
const rvRetry = 2 * time.Millisecond

// rvRetrying tracks one goroutine's Enters after its first failure.
type rvRetrying struct{ since time.Time }

// failed records an Enter that panicked and reports whether to go on.
func (r *rvRetrying) failed() bool {
	if r.since.IsZero() {
		r.since = time.Now()
	}
	runtime.Gosched()
	return time.Since(r.since) < rvRetry
}

func rvCloseRun(t *testing.T) {
	defer rvWatchdog("TestCloseRacingGuardsWithLedger", 60*time.Second)()
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	start := time.Now()
	trials := 0
	var closeErrs int64
	for ; trials < 3 || time.Since(start) < rvBudget()/2; trials++ {
		c := rvNew(WithBatchSize(1+trials%4), WithMaxBatchAge(100*time.Microsecond))
		l := newRVLedger(t, c)
		l.slowFrees = true // Enter and other sweeps overlap Close's sweeps
		pool := NewPool(c, OnReclaim(l.reclaimNode))
		{ // something to load from the start
			g := c.Enter()
			l.head.Store(l.newObj(false))
			l.phead.Store(l.getNode(pool, g))
			g.Exit()
		}
		// work runs rvWork until Close has returned nil, or for rvRetry
		// after the first Enter that panicked.
		work := func(h *Handle, rng *rand.Rand, after func(i int)) {
			var r rvRetrying
			for i := 0; !l.closed.Load(); i++ {
				if !l.rvWork(pool, h, i, rng) {
					if !r.failed() {
						return
					}
					continue
				}
				if after != nil {
					after(i)
				}
			}
		}
		var wg sync.WaitGroup
		startCh := make(chan struct{})
		for w := range 4 {
			wg.Go(func() {
				rng := rand.New(rand.NewPCG(uint64(trials), uint64(w)))
				var h *Handle
				if w%2 == 1 {
					var ok bool
					if h, ok = rvTryRegister(c); !ok {
						return
					}
					defer h.Unregister()
				}
				<-startCh
				work(h, rng, func(i int) {
					switch i % 16 {
					case 3:
						c.Flush()
					case 11:
						ctx, cancel := context.WithTimeout(context.Background(), 200*time.Microsecond)
						_ = c.Barrier(ctx)
						cancel()
					}
				})
			})
		}
		wg.Go(func() { // first-time enterers: the registry grows while Close scans it
			<-startCh
			var r rvRetrying
			for !l.closed.Load() {
				var inner sync.WaitGroup
				var failed atomic.Bool
				for range 6 {
					inner.Go(func() {
						rng := rand.New(rand.NewPCG(rand.Uint64(), 1))
						for i := range 3 {
							if !l.rvWork(pool, nil, i, rng) {
								failed.Store(true)
							}
						}
					})
				}
				inner.Wait()
				if failed.Load() && !r.failed() {
					return
				}
			}
		})
		wg.Go(func() { // Register and Unregister while Close runs
			<-startCh
			var r rvRetrying
			for !l.closed.Load() {
				h, ok := rvTryRegister(c)
				if ok {
					ok = l.rvWork(pool, h, 1, rand.New(rand.NewPCG(rand.Uint64(), 2)))
					h.Unregister()
				}
				if !ok && !r.failed() {
					return
				}
			}
		})
		flip := make(chan struct{})
		var flipper sync.WaitGroup
		flipper.Go(func() { // GOMAXPROCS changes
			for i := 0; ; i++ {
				select {
				case <-flip:
					return
				case <-time.After(150 * time.Microsecond):
					runtime.GOMAXPROCS(1 + i%3)
				}
			}
		})
		close(startCh)
		time.Sleep(time.Duration(rand.IntN(1500)) * time.Microsecond)
		for {
			err := c.Close()
			if err == nil {
				l.closed.Store(true)
				if n := l.inGuard.Load(); n != 0 {
					l.fail("trial %d: Close returned nil with %d guard(s) open", trials, n)
				}
				if n := l.freeing.Load(); n != 0 {
					l.fail("trial %d: Close returned nil while %d free function(s) ran", trials, n)
				}
				if g, ok := rvTryEnter(c); ok {
					g.Exit()
					l.fail("trial %d: Enter after Close returned nil returned a guard", trials)
				}
				break
			}
			if !errors.Is(err, ErrGuardsOpen) {
				t.Fatalf("trial %d: Close: %v", trials, err)
			}
			closeErrs++
			runtime.Gosched()
		}
		wg.Wait()
		close(flip)
		flipper.Wait()
		if err := c.Close(); err != nil {
			t.Fatalf("trial %d: Close of a closed, drained Collector: %v", trials, err)
		}
		l.requireAllReclaimed(fmt.Sprintf("trial %d", trials))
		if p := c.Stats().Pending; p != 0 {
			l.fail("trial %d: %d pending after Close", trials, p)
		}
		if l.errs.Load() > 0 {
			t.Fatalf("trial %d failed", trials)
		}
	}
	t.Logf("%d trials, %d Close calls that found guards open", trials, closeErrs)
}

// Barrier racing with guards: every object and Pool node retired before
// a Barrier call (Retire had returned) is reclaimed when it returns,
// including what idle Handles hold in their open batches (no aging timer
// here: only Barrier can flush them), and no Barrier hangs while guards
// come and go (each has 5 s); once the workers stop, a Barrier with no
// guard open returns. Readers check what they loaded throughout.
//
// Verified to fail (every run, all three modes) on: a Barrier that waits
// only for pinned slots and does not flush idle ones; a Barrier that
// sweeps after one advance instead of two; a Refresh that does not honour
// the flush request (Barrier then never passes the long guard); a Pool
// that adopts an orphan one epoch early; a seal tagged one epoch early.
func TestBarrierReclaimsWhatCameBeforeWhileGuardsChurn(t *testing.T) {
	defer rvWatchdog("TestBarrierReclaimsWhatCameBeforeWhileGuardsChurn", 60*time.Second)()
	start := time.Now()
	trials, barriers := 0, 0
	for ; trials < 3 || time.Since(start) < rvBudget(); trials++ {
		c := rvNew(WithBatchSize(3+trials%5), WithMaxBatchAge(0))
		l := newRVLedger(t, c)
		pool := NewPool(c, OnReclaim(l.reclaimNode))
		done := make(chan struct{})
		var wg sync.WaitGroup
		for w := range 3 {
			wg.Go(func() { // busy workers, pooled and Handle guards
				rng := rand.New(rand.NewPCG(uint64(trials), uint64(w)))
				var h *Handle
				if w == 1 {
					h = c.Register()
					defer h.Unregister()
				}
				for i := 0; ; i++ {
					select {
					case <-done:
						return
					default:
					}
					l.rvWork(pool, h, i, rng)
				}
			})
		}
		for w := range 2 {
			wg.Go(func() { // a Handle that retires a little, then idles with it in its open batch
				h := c.Register()
				defer h.Unregister()
				for i := 0; ; i++ {
					g := h.Enter()
					l.inGuard.Add(1)
					if w == 0 {
						l.retireObj(g, l.newObj(false))
					} else {
						l.retireNode(pool, g, l.getNode(pool, g))
					}
					l.inGuard.Add(-1)
					g.Exit()
					select {
					case <-done:
						return
					case <-time.After(time.Duration(50+i%4*100) * time.Microsecond):
					}
				}
			})
		}
		wg.Go(func() { // a long guard that lets Barrier pass by Refresh
			g := c.Enter()
			defer g.Exit()
			for {
				select {
				case <-done:
					return
				case <-time.After(30 * time.Microsecond):
				}
				l.checkObj(Load(g, &l.head), "long reader")
				g.Refresh()
			}
		})
		for k := range 30 {
			time.Sleep(time.Duration(k%4*60) * time.Microsecond) // let the workers and the idle Handles move on
			objs, nodes := l.snapshot()
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			err := c.Barrier(ctx)
			cancel()
			if err != nil {
				l.fail("trial %d: Barrier: %v (it hangs while guards come and go)", trials, err)
				break
			}
			barriers++
			if o, n := unreclaimed(objs, nodes); o+n > 0 {
				l.fail("trial %d: Barrier returned with %d of %d objects and %d of %d Pool nodes retired before it not reclaimed", trials, o, len(objs), n, len(nodes))
			}
		}
		close(done)
		wg.Wait()
		// No guard is open now: Barrier must not hang.
		objs, nodes := l.snapshot()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		if err := c.Barrier(ctx); err != nil {
			l.fail("trial %d: Barrier with no guard open: %v", trials, err)
		}
		cancel()
		if o, n := unreclaimed(objs, nodes); o+n > 0 {
			l.fail("trial %d: quiescent Barrier left %d objects and %d Pool nodes unreclaimed", trials, o, n)
		}
		// The first Barrier's free functions may have retired children
		// (which retire nothing): a second one reclaims them.
		ctx, cancel = context.WithTimeout(context.Background(), 5*time.Second)
		if err := c.Barrier(ctx); err != nil {
			l.fail("trial %d: Barrier with no guard open: %v", trials, err)
		}
		cancel()
		if p := c.Stats().Pending; p != 0 {
			l.fail("trial %d: %d pending after two quiescent Barriers", trials, p)
		}
		if err := c.Close(); err != nil {
			t.Fatalf("trial %d: Close: %v", trials, err)
		}
		l.requireAllReclaimed(fmt.Sprintf("trial %d", trials))
		if l.errs.Load() > 0 {
			t.Fatalf("trial %d failed", trials)
		}
	}
	t.Logf("%d trials, %d Barriers checked", trials, barriers)
}

// While a collector (Flush, Barrier, Close, the aging tick) holds its
// claim on an idle slot and flushes it, the slot's holder must not be
// inside a guard: the hook holds each claim open for a few microseconds
// and looks at the holder's flag, set between Enter's return and Exit. The
// holders are Handles and pooled guards, entering and exiting in tight
// loops with short idle gaps, and every object goes through the ledger (a
// batch appended to while it is flushed loses or duplicates objects). Run
// with Enter's common case under -race too (testCellsUnderRace).
//
// Verified to fail on: an Enter that does not load the claim after
// announcing, in its common case or in enterAnnounced (all modes: the
// hook, a data race, or the corrupted batch crashes); a collector that
// flushes without reading the word again after claiming (all modes); a
// takeIdle without fence.Heavy (asymmetric mode, where only it can); and,
// with RECLAIM_FENCE=sc only, pinSlow returning without loading the claim
// again after it re-announces (elsewhere the window, between one
// collector's release and the next one's claim, is too narrow to hit).
func TestClaimedSlotHasOneUser(t *testing.T) {
	for _, cells := range []bool{false, true} {
		t.Run(fmt.Sprintf("cells=%v", cells), func(t *testing.T) {
			testCellsUnderRace = cells
			defer func() { testCellsUnderRace = false }()
			rvClaimRun(t)
		})
	}
}

func rvClaimRun(t *testing.T) {
	defer rvWatchdog("TestClaimedSlotHasOneUser", 60*time.Second)()
	c := rvNew(WithBatchSize(4), WithMaxBatchAge(20*time.Microsecond))
	l := newRVLedger(t, c)
	pool := NewPool(c, OnReclaim(l.reclaimNode))
	var inside [4096]atomic.Int32 // by slot index: a guard of this test is open on it
	var claims, violations atomic.Int64
	testHookClaimed = func(s *slot) {
		i := s.Index()
		if i >= len(inside) {
			return
		}
		claims.Add(1)
		for end := time.Now().Add(4 * time.Microsecond); ; {
			if inside[i].Load() != 0 {
				violations.Add(1)
				return
			}
			if time.Now().After(end) {
				return
			}
		}
	}
	defer func() { testHookClaimed = nil }()

	// Collectors that claim without pause can starve a holder's Enter for
	// hundreds of milliseconds (pinSlow backs off from every claim), so
	// they stop at the deadline too, not after the last worker.
	end := time.Now().Add(rvBudget() / 2)
	var workers, collectors sync.WaitGroup
	for w := range 4 {
		workers.Go(func() {
			var h *Handle
			if w < 2 {
				h = c.Register()
				defer h.Unregister()
			}
			for i := 0; time.Now().Before(end); i++ {
				var g *Guard
				if h != nil {
					g = h.Enter()
				} else {
					g = c.Enter()
				}
				idx := g.s.Index()
				inside[idx].Add(1)
				l.checkObj(Load(g, &l.head), "claim reader")
				n := Load(g, &l.phead)
				gen := l.checkNode(n, "claim reader")
				if w%2 == 0 && i%4 == 0 { // stay inside a while: a collector's heavy fence takes microseconds
					for end := time.Now().Add(5 * time.Microsecond); time.Now().Before(end); {
					}
				}
				if i%2 == 0 {
					if old := l.head.Swap(l.newObj(false)); old != nil {
						l.retireObj(g, old)
					}
				} else {
					x := l.getNode(pool, g)
					if old := l.phead.Swap(x); old != nil {
						if old == n {
							l.recheckNode(n, gen, "claim reader")
						}
						l.retireNode(pool, g, old)
					}
				}
				inside[idx].Add(-1)
				g.Exit()
				for range i % 7 * 20 { // idle a little, so that collectors claim the slot
					_ = c.epoch.Load()
				}
				if i%5 == 0 {
					runtime.Gosched()
				}
			}
		})
	}
	for k := range 4 {
		collectors.Go(func() {
			for time.Now().Before(end) {
				if k == 3 {
					ctx, cancel := context.WithTimeout(context.Background(), time.Millisecond)
					_ = c.Barrier(ctx)
					cancel()
				} else {
					c.Flush()
				}
			}
		})
	}
	workers.Wait()
	collectors.Wait()
	if n := l.phead.Swap(nil); n != nil {
		g := c.Enter()
		l.retireNode(pool, g, n)
		g.Exit()
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	l.requireAllReclaimed("claims")
	if claims.Load() == 0 {
		t.Fatal("no collector claimed a slot: the test proves nothing")
	}
	if v := violations.Load(); v > 0 {
		t.Fatalf("%d of %d claims: the holder was inside a guard on a slot a collector had claimed", v, claims.Load())
	}
	t.Logf("%d claims, holders never inside", claims.Load())
}

// Free functions (Retire's, Defer's) and OnReclaims panic now and then,
// on every path that runs them: Retire's full batch, Pool Get and Retire,
// Guard.Flush, Flush, Barrier, Close and the aging tick (whose panic the
// next of those re-raises), while other goroutines keep entering. Each
// panic reaches a caller as the free function's value; then the Collector
// must stay consistent: no claim or lock left held (nothing hangs), no
// free function run twice or on a live object, no node handed out by Get
// without having been reclaimed, nothing reclaimed under an open guard,
// and, after Close, every object retired with Retire or Defer reclaimed
// exactly once and nothing pending (a batch whose OnReclaim panicked is
// left to the garbage collector, as documented, so Pool nodes are not
// required to be reclaimed).
//
// Verified to fail (all modes) on: a sweep that keeps the reclaiming lock
// when a free function panics (a hang, reported by the watchdog with every
// goroutine's stack); a Pool that drops the orphans it had not judged yet
// when an OnReclaim panics (Close then never drains: a hang); a Close that
// returns with objects pending.
func TestPanickingFreeFunctionsOnEveryPath(t *testing.T) {
	defer rvWatchdog("TestPanickingFreeFunctionsOnEveryPath", 15*time.Second)()
	start := time.Now()
	var booms atomic.Int64
	trials := 0
	for ; trials < 3 || time.Since(start) < rvBudget(); trials++ {
		c := rvNew(WithBatchSize(2+trials%3), WithMaxBatchAge(100*time.Microsecond))
		l := newRVLedger(t, c)
		l.panicky = true
		pool := NewPool(c, OnReclaim(l.reclaimNode))
		// catch runs f, recovering the free functions' panics only.
		catch := func(f func()) {
			defer func() {
				if r := recover(); r != nil {
					if _, ok := r.(rvBoom); !ok {
						panic(r)
					}
					booms.Add(1)
				}
			}()
			f()
		}
		var wg sync.WaitGroup
		end := time.Now().Add(rvBudget() / 8)
		for w := range 3 {
			wg.Go(func() {
				var h *Handle
				if w == 0 {
					var ok bool
					if h, ok = rvTryRegister(c); !ok {
						return
					}
					defer h.Unregister()
				}
				for i := 0; time.Now().Before(end); i++ {
					var g *Guard
					var ok bool
					if h != nil {
						g, ok = rvTryHandleEnter(h)
					} else {
						g, ok = rvTryEnter(c)
					}
					if !ok {
						return
					}
					o := Load(g, &l.head)
					l.checkObj(o, "reader")
					n := Load(g, &l.phead)
					gen := l.checkNode(n, "reader")
					switch i % 5 {
					case 0:
						catch(func() {
							if old := l.head.Swap(l.newObj(i%3 == 0)); old != nil {
								l.retireObj(g, old)
							}
						})
					case 1:
						catch(func() {
							x := l.getNode(pool, g)
							if old := l.phead.Swap(x); old != nil {
								l.retireNode(pool, g, old)
							}
						})
					case 2:
						catch(func() { l.deferObj(g) })
					case 3:
						catch(g.Flush)
					}
					runtime.Gosched()
					l.checkObj(o, "reader after a yield")
					l.recheckNode(n, gen, "reader after a yield")
					g.Exit()
					switch i % 9 {
					case 4:
						catch(c.Flush)
					case 8:
						catch(func() {
							ctx, cancel := context.WithTimeout(context.Background(), time.Millisecond)
							defer cancel()
							_ = c.Barrier(ctx)
						})
					}
				}
			})
		}
		wg.Go(func() { // Close while they run, until it returns nil
			time.Sleep(time.Duration(rand.IntN(int(rvBudget()/8/time.Microsecond))) * time.Microsecond)
			if rand.IntN(2) == 0 {
				return // half the trials close after the workers
			}
			for {
				var err error
				panicked := false
				func() {
					defer func() {
						if r := recover(); r != nil {
							if _, ok := r.(rvBoom); !ok {
								panic(r)
							}
							panicked = true
							booms.Add(1)
						}
					}()
					err = c.Close()
				}()
				if !panicked && err == nil {
					return
				}
				if err != nil && !errors.Is(err, ErrGuardsOpen) {
					l.fail("Close: %v", err)
					return
				}
				runtime.Gosched()
			}
		})
		wg.Wait()
		// Close until it neither panics nor finds anything open: a panic
		// stored by a tick may come out of the first calls.
		for i := 0; ; i++ {
			var err error
			panicked := false
			catch(func() {
				panicked = true
				err = c.Close()
				panicked = false
			})
			if !panicked && err == nil {
				break
			}
			if err != nil {
				t.Fatalf("trial %d: Close with no guard open: %v", trials, err)
			}
			if i > 1000 {
				t.Fatalf("trial %d: Close keeps panicking", trials)
			}
		}
		if p := c.Stats().Pending; p != 0 {
			l.fail("trial %d: %d pending after Close", trials, p)
		}
		objs, _ := l.snapshot()
		if o, _ := unreclaimed(objs, nil); o > 0 {
			l.fail("trial %d: %d of %d objects retired with Retire or Defer never reclaimed", trials, o, len(objs))
		}
		if l.errs.Load() > 0 {
			t.Fatalf("trial %d failed", trials)
		}
	}
	if booms.Load() == 0 {
		t.Fatal("no free function panicked: the test proves nothing")
	}
	t.Logf("%d trials, %d panics caught", trials, booms.Load())
}

// A free function that panics on the aging timer's goroutine while Close
// waits for that very sweep: the panic comes out of the Close that waited
// for it, and closing the closed, drained Collector a second time returns
// nil. The tick stores its panic only after it has let go of the
// reclaiming lock, so a Close that waits for the lock, not for the tick,
// returned nil and left the panic to the next call (found by the review,
// fixed by Ager.Wait).
func TestCloseRaisesThePanicOfTheTickItWaitedFor(t *testing.T) {
	defer rvWatchdog("TestCloseRaisesThePanicOfTheTickItWaitedFor", 30*time.Second)()
	c := rvNew(WithMaxBatchAge(time.Millisecond))
	running, release := make(chan struct{}), make(chan struct{})
	g := c.Enter()
	Retire(g, new(int), func(*int) {
		close(running)
		<-release
		panic(rvBoom{})
	})
	g.Exit()
	<-running // the aging tick's sweep runs it, holding the reclaiming lock

	first := make(chan any, 1)
	go func() {
		defer func() { first <- recover() }()
		if err := c.Close(); err != nil {
			t.Errorf("first Close: %v", err)
		}
	}()
	for c.state.Load()&closedBit == 0 {
		time.Sleep(10 * time.Microsecond)
	}
	time.Sleep(2 * time.Millisecond) // Close is past its Rethrow, waiting for the tick's sweep
	close(release)
	got := <-first

	var second any
	var err error
	func() {
		defer func() { second = recover() }()
		err = c.Close()
	}()
	if _, ok := got.(rvBoom); !ok {
		t.Errorf("the Close that waited for the tick's sweep returned (panic %v) although the free function that sweep ran panicked", got)
	}
	if second != nil || err != nil {
		t.Errorf("Close of the closed, drained Collector: err %v, panic %v; want nil and no panic", err, second)
	}
	if p := c.Stats().Pending; p != 0 {
		t.Errorf("%d pending after Close", p)
	}
}
