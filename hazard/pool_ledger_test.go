package hazard_test

// A ledger of hazard.Pool's nodes under readers that protect them (from an
// independent review of the Pool and of Protect's inlined form; the tests
// fail on Protect without its re-load or publishing after it, TryProtect
// without validation, recycling without a scan, a scan that ignores hazard
// pointers or misses one, and free lists that hand a node out twice).
//
// Every node carries a ledger in its own words: a state (free, live,
// retired), a generation that is unique to each life (0 while free), the
// slot it was linked into, and a plain copy of the generation. The Pool
// zeroes a node when it recycles it, so a recycled node reads as free with
// generation 0; a writer that takes it from Get gives it a new generation.
//
//   - Get must return a free node (a compare-and-swap free -> live): a node
//     handed out twice without a retire in between, or handed out while it
//     is retired and not yet reclaimed, fails it.
//   - A reader checks, while the node is protected, that it is not free,
//     that it was linked into the slot it was protected from, that its
//     plain copy matches its generation, and, a little later, that its
//     generation did not change: a node recycled under a hazard pointer
//     fails one of these (and under -race the Pool's zeroing is a data race
//     with the reader's plain read).
//   - With OnReclaim, the hook checks that the node is retired (retired ->
//     reclaimed): a double reclaim, or the reclaim of a live node, fails it;
//     after a Barrier, Reclaimed equals Retired and the hook ran once per
//     retire (no leak).
//
// The readers that protect in a tight loop never yield: the scheduler's
// asynchronous preemption then lands anywhere in Protect, among others
// between its load of the source and its publication, and a reader stays
// descheduled there for many time slices (more goroutines than
// processors) while the writers unlink, retire and recycle the node it
// loaded. That is the window a Protect without its re-load (or one that
// publishes after it) leaves open.
//
// TestPoolRetireAfterCloseDuringFlush failed on the code reviewed: a
// Retire or Acquire after Close returned did not panic while another
// goroutine's Flush ran a sweep (see the test).

import (
	"context"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/go-reclaim/reclaim/hazard"
)

const (
	nodeFree      = 0 // zeroed by the Pool: in a free list, or new
	nodeLive      = 1 // taken by Get, maybe linked
	nodeRetired   = 2 // unlinked and handed to Pool.Retire
	nodeReclaimed = 3 // seen by OnReclaim; the Pool zeroes it to free next
)

type ledgerNode struct {
	state atomic.Uint32
	slot  atomic.Uint32 // 1 + the slot it was linked into
	gen   atomic.Uint64 // unique per life, 0 while free
	data  uint64        // plain: gen, written before the node is linked
	_     [32]byte
}

// poolLedger is the shared state of one ledger run.
type poolLedger struct {
	t       *testing.T
	d       *hazard.Domain
	p       *hazard.Pool[ledgerNode]
	slots   []atomic.Pointer[ledgerNode]
	gens    atomic.Uint64
	retired atomic.Uint64 // Pool.Retire calls
	hooked  atomic.Uint64 // OnReclaim calls
	failed  atomic.Bool
	fails   atomic.Int32
	checks  atomic.Uint64 // protected nodes checked
}

func (l *poolLedger) fail(format string, args ...any) {
	l.failed.Store(true)
	if l.fails.Add(1) <= 10 {
		l.t.Errorf(format, args...)
	}
}

// onReclaim is the Pool's hook in the OnReclaim variant.
func (l *poolLedger) onReclaim(n *ledgerNode) {
	l.hooked.Add(1)
	if s := n.state.Load(); !n.state.CompareAndSwap(nodeRetired, nodeReclaimed) {
		l.fail("OnReclaim of a node in state %d (gen %d): reclaimed twice, or before its retire", s, n.gen.Load())
	}
}

// get takes a node from the Pool and makes it live, as generation gen,
// for slot i.
func (l *poolLedger) get(i int) *ledgerNode {
	n := l.p.Get()
	if n == nil {
		l.fail("Get returned nil")
		return nil
	}
	if s := n.state.Load(); !n.state.CompareAndSwap(nodeFree, nodeLive) {
		l.fail("Get returned a node in state %d (gen %d): handed out while live or before it was reclaimed", s, n.gen.Load())
		return nil
	}
	if n.gen.Load() != 0 || n.slot.Load() != 0 || n.data != 0 {
		l.fail("Get returned a dirty node: gen %d, slot %d, data %d", n.gen.Load(), n.slot.Load(), n.data)
	}
	g := l.gens.Add(1)
	n.data = g
	n.slot.Store(uint32(i + 1))
	n.gen.Store(g)
	return n
}

// retire retires n, which the caller unlinked.
func (l *poolLedger) retire(n *ledgerNode) {
	if s := n.state.Load(); !n.state.CompareAndSwap(nodeLive, nodeRetired) {
		l.fail("retiring a node in state %d (gen %d)", s, n.gen.Load())
		return
	}
	l.retired.Add(1)
	l.p.Retire(n)
}

// check checks n, protected after it was loaded from slot i; hold is how
// long (in spins) the reader keeps it before the second look, and yield
// whether it gives up its processor meanwhile (a stalled reader).
func (l *poolLedger) check(n *ledgerNode, i, hold int, yield bool) {
	l.checks.Add(1)
	g := n.gen.Load()
	s := n.state.Load()
	sl := n.slot.Load()
	d := n.data
	if g == 0 || s == nodeFree || s == nodeReclaimed || sl != uint32(i+1) || d != g {
		l.fail("protected node from slot %d recycled: state %d, gen %d, slot %d, data %d", i, s, g, sl, d)
		return
	}
	for k := range hold {
		if yield && k%8 == 0 {
			runtime.Gosched()
		}
	}
	if g2, s2, d2 := n.gen.Load(), n.state.Load(), n.data; g2 != g || s2 == nodeFree || s2 == nodeReclaimed || d2 != g {
		l.fail("protected node from slot %d recycled while held: gen %d then %d, state %d, data %d", i, g, g2, s2, d2)
	}
}

type ledgerConfig struct {
	slots     int
	writers   int
	readers   int // tight Protect loops, never yielding
	tries     int // TryProtect readers
	stalled   int // readers that hold their protection across yields
	hop       int // readers that protect two slots at once (an Array) and re-protect
	burst     int // writers that take many nodes at once and retire them all: full lists move between processors
	onReclaim bool
	procs     bool // change GOMAXPROCS meanwhile
	dur       time.Duration
}

func newPoolLedger(t *testing.T, cfg ledgerConfig) *poolLedger {
	l := &poolLedger{t: t, slots: make([]atomic.Pointer[ledgerNode], cfg.slots)}
	l.d = hazard.New(hazard.WithThreshold(1))
	if cfg.onReclaim {
		l.p = hazard.NewPool(l.d, hazard.OnReclaim(l.onReclaim))
	} else {
		l.p = hazard.NewPool[ledgerNode](l.d)
	}
	return l
}

// runPoolLedger runs writers that replace the node of a random slot and
// retire the old one (flushing often, so that scans run all the time),
// and readers that protect slots and check what they protect; then it
// stops the writers, empties the slots and closes the Domain while the
// readers still protect (Close must not recycle what they hold), and
// checks, after a Barrier, that every retired node was reclaimed, once.
func runPoolLedger(t *testing.T, cfg ledgerConfig) *poolLedger {
	l := newPoolLedger(t, cfg)
	var stopW, stopR atomic.Bool // writers, readers
	var wgW, wgR sync.WaitGroup
	for w := range cfg.writers {
		wgW.Go(func() {
			r := rand.New(rand.NewPCG(uint64(w), 1))
			for k := 0; !stopW.Load() && !l.failed.Load(); k++ {
				i := r.IntN(len(l.slots))
				n := l.get(i)
				if n == nil {
					return
				}
				if old := l.slots[i].Swap(n); old != nil {
					l.retire(old)
				}
				switch {
				case k%13 == 0:
					l.d.Flush()
				case k%997 == 0:
					ctx, cancel := context.WithTimeout(context.Background(), time.Millisecond)
					_ = l.d.Barrier(ctx) // may time out on a stalled reader's node
					cancel()
				}
			}
		})
	}
	for range cfg.burst {
		wgW.Go(func() {
			ns := make([]*ledgerNode, 0, 300)
			for k := 0; !stopW.Load() && !l.failed.Load(); k++ {
				for range 100 + k%200 {
					n := l.get(0)
					if n == nil {
						return
					}
					ns = append(ns, n)
				}
				for _, n := range ns { // never linked: retired at once
					l.retire(n)
				}
				ns = ns[:0]
				l.d.Flush()
				runtime.Gosched()
			}
		})
	}
	for r := range cfg.readers {
		wgR.Go(func() {
			hp := l.d.Acquire()
			defer hp.Release()
			i := r % len(l.slots)
			for !stopR.Load() && !l.failed.Load() {
				if n := hazard.Protect(hp, &l.slots[i]); n != nil {
					l.check(n, i, 4, false)
				}
				hp.Reset()
				if i++; i == len(l.slots) {
					i = 0
				}
			}
		})
	}
	for r := range cfg.tries {
		wgR.Go(func() {
			hp := l.d.Acquire()
			defer hp.Release()
			i := r % len(l.slots)
			for !stopR.Load() && !l.failed.Load() {
				n := l.slots[i].Load()
				if n != nil && hazard.TryProtect(hp, n, &l.slots[i]) {
					l.check(n, i, 4, false)
				}
				hp.Reset()
				if i++; i == len(l.slots) {
					i = 0
				}
			}
		})
	}
	for r := range cfg.stalled {
		wgR.Go(func() {
			hp := l.d.Acquire()
			defer hp.Release()
			rr := rand.New(rand.NewPCG(uint64(r), 2))
			for !stopR.Load() && !l.failed.Load() {
				i := rr.IntN(len(l.slots))
				if n := hazard.Protect(hp, &l.slots[i]); n != nil {
					l.check(n, i, 64, true)
				}
				hp.Reset()
				runtime.Gosched()
			}
		})
	}
	for r := range cfg.hop {
		wgR.Go(func() {
			a := l.d.AcquireArray(2)
			defer a.Release()
			rr := rand.New(rand.NewPCG(uint64(r), 3))
			i := rr.IntN(len(l.slots))
			cur := hazard.Protect(a.At(0), &l.slots[i])
			for k := 0; !stopR.Load() && !l.failed.Load(); k++ {
				j := rr.IntN(len(l.slots))
				hp := a.At((k + 1) % 2) // the pointer not holding cur
				next := hazard.Protect(hp, &l.slots[j])
				if cur != nil {
					l.check(cur, i, 2, false) // still protected by the other pointer
				}
				if next != nil {
					l.check(next, j, 2, false)
				}
				// The other pointer now protects something else: cur is
				// no longer protected and is not looked at again.
				cur, i = next, j
				if k%256 == 0 {
					runtime.Gosched()
				}
			}
		})
	}
	if cfg.procs {
		wgW.Go(func() {
			procs := []int{1, 3, 2, 4, 1, 6, 2}
			for k := 0; !stopW.Load(); k++ {
				runtime.GOMAXPROCS(procs[k%len(procs)])
				time.Sleep(2 * time.Millisecond)
			}
		})
	}
	time.Sleep(cfg.dur)
	stopW.Store(true)
	wgW.Wait()
	// The readers go on while the slots are emptied and the Domain closed
	// (hazard 4): Close must not recycle what they protect.
	for i := range l.slots {
		if n := l.slots[i].Swap(nil); n != nil {
			l.retire(n)
		}
	}
	var closeErr error
	if !l.failed.Load() {
		closeErr = l.d.Close()
		time.Sleep(time.Millisecond) // the stalled readers may still look
	}
	stopR.Store(true)
	wgR.Wait()
	if l.failed.Load() {
		return l
	}
	if closeErr != nil {
		require.ErrorIs(t, closeErr, hazard.ErrProtected, "Close with readers running")
	}
	// Barrier keeps working after Close; nothing protects now.
	require.NoError(t, l.d.Barrier(waitCtx(t)))
	st := l.d.Stats()
	require.Equal(t, l.retired.Load(), st.Retired, "Pool.Retire calls against Stats.Retired")
	require.Equal(t, st.Retired, st.Reclaimed, "retired nodes not reclaimed after Barrier")
	if cfg.onReclaim {
		require.Equal(t, l.retired.Load(), l.hooked.Load(), "OnReclaim runs against retires")
	}
	require.Positive(t, l.checks.Load(), "no protected node checked")
	t.Logf("%d retired, %d protected nodes checked; Close with readers running: %v", l.retired.Load(), l.checks.Load(), closeErr)
	require.NoError(t, l.d.Close())
	// Every node the Pool holds now is free, and Retire panics.
	for range 256 {
		if n := l.get(0); n != nil {
			require.PanicsWithValue(t, "hazard: Retire on a closed Domain", func() { l.p.Retire(n) })
		}
	}
	require.Equal(t, l.retired.Load(), l.d.Stats().Reclaimed)
	return l
}

func ledgerDuration() time.Duration {
	if testing.Short() {
		return 100 * time.Millisecond
	}
	return 400 * time.Millisecond
}

// Hazards 1, 2, 3 and 6: readers of every kind against writers that
// replace and retire nodes, scanning all the time; a node recycled under
// a hazard pointer, handed out twice, reclaimed twice or never fails.
func TestPoolLedger(t *testing.T) {
	for _, onReclaim := range []bool{false, true} {
		name := "bin"
		if onReclaim {
			name = "OnReclaim"
		}
		t.Run(name, func(t *testing.T) {
			runPoolLedger(t, ledgerConfig{
				slots: 8, writers: 2, readers: 6, tries: 2, stalled: 2, hop: 2, burst: 1,
				onReclaim: onReclaim, dur: ledgerDuration(),
			})
		})
	}
}

// Hazard 6: one slot that the writers replace as fast as they can, so
// that it often changes between Protect's two loads; the readers that
// protect it never yield.
func TestPoolProtectChurningSource(t *testing.T) {
	runPoolLedger(t, ledgerConfig{
		slots: 1, writers: 3, readers: 8, tries: 2, onReclaim: true, dur: ledgerDuration(),
	})
}

// Hazard 5: GOMAXPROCS changes while nodes sit in the per-processor free
// lists (Ps added after NewPool have none and go through the shared lists;
// Ps removed keep theirs until they come back) and in the Domain's
// per-processor batches: no node is handed out twice, recycled while
// protected, or lost to the Domain.
func TestPoolGOMAXPROCSChanges(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
	for _, onReclaim := range []bool{false, true} {
		name := "bin"
		if onReclaim {
			name = "OnReclaim"
		}
		t.Run(name, func(t *testing.T) {
			runtime.GOMAXPROCS(2) // the Pool's and the Domain's shards: two Ps
			runPoolLedger(t, ledgerConfig{
				slots: 8, writers: 3, readers: 4, tries: 1, stalled: 1, hop: 1, burst: 2,
				onReclaim: onReclaim, procs: true, dur: ledgerDuration(),
			})
		})
	}
}

// Hazard 1, deterministic: a node protected by Protect, by TryProtect or
// by an Array's pointer is not handed out by Get while protected, however
// many nodes are recycled and however the Domain is pushed (Flush, a
// Barrier that times out, Close), and comes back once the protection ends.
func TestPoolProtectedNodeStaysOut(t *testing.T) {
	for _, how := range []string{"Protect", "TryProtect", "Array", "reprotect"} {
		for _, onReclaim := range []bool{false, true} {
			name := how
			if onReclaim {
				name += "/OnReclaim"
			}
			t.Run(name, func(t *testing.T) {
				l := newPoolLedger(t, ledgerConfig{slots: 1, onReclaim: onReclaim})
				d := l.p.Domain()
				require.Same(t, l.d, d)
				n := l.get(0)
				l.slots[0].Store(n)
				var release func()
				switch how {
				case "Protect":
					hp := d.Acquire()
					require.Same(t, n, hazard.Protect(hp, &l.slots[0]))
					release = hp.Release
				case "TryProtect":
					hp := d.Acquire()
					require.True(t, hazard.TryProtect(hp, n, &l.slots[0]))
					release = hp.Reset
					defer hp.Release()
				case "Array":
					a := d.AcquireArray(3)
					require.Same(t, n, hazard.Protect(a.At(2), &l.slots[0]))
					release = a.Release
				case "reprotect":
					// The pointer protects n, then something else: from
					// then on n is not protected.
					hp := d.Acquire()
					require.Same(t, n, hazard.Protect(hp, &l.slots[0]))
					release = func() {
						var other atomic.Pointer[ledgerNode]
						other.Store(&ledgerNode{})
						hazard.Protect(hp, &other)
					}
					defer hp.Release()
				}
				l.slots[0].Store(nil)
				l.retire(n)
				g := n.gen.Load()
				for k := range 5000 {
					m := l.get(0)
					require.NotNil(t, m)
					require.True(t, n != m, "Get %d returned the protected node", k)
					l.retire(m)
					if k%500 == 0 {
						d.Flush()
					}
				}
				ctx, cancel := shortCtx(t)
				require.ErrorIs(t, d.Barrier(ctx), context.DeadlineExceeded)
				cancel()
				require.Equal(t, g, n.gen.Load(), "the protected node was zeroed")
				require.EqualValues(t, nodeRetired, n.state.Load())
				require.EqualValues(t, 1, d.Stats().Pending)
				release()
				require.NoError(t, d.Barrier(waitCtx(t)))
				require.Zero(t, d.Stats().Pending)
				require.Zero(t, n.gen.Load(), "the node was not recycled once unprotected")
				require.NoError(t, d.Close())
			})
		}
	}
}

// Hazard 4: after Close, Pool.Retire panics with the Domain's message (and
// retires nothing); Get keeps handing out zeroed nodes, those Close
// recycled among them. A node still protected at Close is not recycled by
// it: Close reports it, and a Flush after the protection ends recycles it.
func TestPoolAfterClose(t *testing.T) {
	for _, onReclaim := range []bool{false, true} {
		l := newPoolLedger(t, ledgerConfig{slots: 1, onReclaim: onReclaim})
		d := l.d
		var ns []*ledgerNode
		for range 200 {
			ns = append(ns, l.get(0))
		}
		kept := ns[0]
		l.slots[0].Store(kept)
		hp := d.Acquire()
		require.Same(t, kept, hazard.Protect(hp, &l.slots[0]))
		l.slots[0].Store(nil)
		for _, n := range ns {
			l.retire(n)
		}
		require.ErrorIs(t, d.Close(), hazard.ErrProtected)
		require.EqualValues(t, nodeRetired, kept.state.Load(), "Close recycled a protected node")
		before := d.Stats().Retired
		x := l.p.Get()
		require.True(t, isZeroNode(x), "Get after Close: a dirty node")
		require.PanicsWithValue(t, "hazard: Retire on a closed Domain", func() { l.p.Retire(x) })
		require.Equal(t, before, d.Stats().Retired, "a Retire that panicked counted")
		require.PanicsWithValue(t, "hazard: Acquire on a closed Domain", func() { d.Acquire() })
		hp.Release() // allowed after Close
		d.Flush()
		require.Zero(t, d.Stats().Pending)
		require.Zero(t, kept.gen.Load(), "the node protected at Close was not recycled by the Flush after it")
		if onReclaim {
			require.Equal(t, l.retired.Load(), l.hooked.Load())
		}
		require.NoError(t, d.Close())
		for range 300 {
			require.True(t, isZeroNode(l.p.Get()))
		}
	}
}

// Hazard 4, a finding: Close's doc says that Retire and Acquire panic once
// Close has returned (free functions that Close runs excepted, and other
// goroutines while Close runs, a race in the caller's program), and Flush
// may be called after Close. But checkOpen panics only while the state is
// exactly closedBit: while any sweep on any goroutine counts a drainUnit
// (every sweep does, between its judging and the end of its free
// functions, even with nothing to free), a Retire or an Acquire from an
// unrelated goroutine after Close returned succeeds. The Pool's node then
// lands in a closed Domain whose aging timer is stopped: it stays pending,
// and is never recycled, until some later Flush, Barrier or Close.
//
// Interleaving (deterministic here): Close returns ErrProtected (one node
// protected); the reader releases; goroutine F calls Flush, whose sweep
// runs the node's OnReclaim (drainUnit held); meanwhile goroutine M calls
// Pool.Retire and Domain.Acquire on the closed Domain: neither panics.
func TestPoolRetireAfterCloseDuringFlush(t *testing.T) {
	d := hazard.New(hazard.WithMaxBatchAge(0))
	entered, release := make(chan struct{}), make(chan struct{})
	var blocker *ledgerNode
	var armed atomic.Bool // only the Flush below blocks in the hook
	p := hazard.NewPool(d, hazard.OnReclaim(func(n *ledgerNode) {
		if n == blocker && armed.CompareAndSwap(true, false) {
			close(entered)
			<-release
		}
	}))
	blocker = p.Get()
	var src atomic.Pointer[ledgerNode]
	src.Store(blocker)
	hp := d.Acquire()
	require.Same(t, blocker, hazard.Protect(hp, &src))
	src.Store(nil)
	p.Retire(blocker)
	require.ErrorIs(t, d.Close(), hazard.ErrProtected)
	hp.Release()
	armed.Store(true)
	done := make(chan struct{})
	go func() {
		defer close(done)
		d.Flush() // allowed after Close: reclaims what Close left
	}()
	select {
	case <-entered:
	case <-done:
		t.Fatal("the Flush after Close did not reclaim the node protected at Close")
	}
	// Close has returned; this goroutine runs no free function.
	x := p.Get()
	retirePanic := recoverValue(func() { p.Retire(x) })
	var acquired *hazard.Pointer
	acquirePanic := recoverValue(func() { acquired = d.Acquire() })
	close(release)
	<-done
	if acquired != nil {
		acquired.Release()
	}
	pending := d.Stats().Pending
	require.NoError(t, d.Close()) // reclaims x if it was accepted
	require.Equal(t, "hazard: Retire on a closed Domain", retirePanic,
		"Pool.Retire after Close returned did not panic while another goroutine's Flush ran a free function; the node stayed pending on the closed Domain (Pending %d after that Flush)", pending)
	require.Equal(t, "hazard: Acquire on a closed Domain", acquirePanic,
		"Acquire after Close returned did not panic while another goroutine's Flush ran a free function")
}

func recoverValue(f func()) (r any) {
	defer func() { r = recover() }()
	f()
	return nil
}

func isZeroNode(n *ledgerNode) bool {
	return n.state.Load() == 0 && n.slot.Load() == 0 && n.gen.Load() == 0 && n.data == 0
}
