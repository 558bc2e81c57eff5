package epoch

// Ledger tests of Pool[T] in both modes, from an independent review. Every node life has a
// state word changed only by compare-and-swap; readers load through Load
// under their guard and keep checking what they loaded after yielding.

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-reclaim/reclaim/internal/procs"
	"github.com/go-reclaim/reclaim/internal/race"
)

const (
	r5Free      = 0 // life not begun
	r5Live      = 1 // handed out by Get (maybe published)
	r5Retired   = 2 // passed to Retire
	r5Reclaimed = 3 // OnReclaim returned
	r5Panicked  = 4 // OnReclaim panicked on it
)

type r5node struct {
	life atomic.Uint64 // the node's life id; 0 until the getter sets it
	val  atomic.Uint64 // r5val(life)
	pool atomic.Uint32 // the Pool that handed it out
}

func r5val(life uint64) uint64 { return life*0x9e3779b97f4a7c15 | 1 }

type r5ledger struct {
	t      *testing.T
	states []atomic.Uint32
	next   atomic.Uint64
	fail   atomic.Bool
	msgs   chan string
	// per node: the life OnReclaim last saw it end, the pool that owns it
	// and the era (robust) at its last Retire.
	nodes sync.Map // *r5node -> *r5meta
}

type r5meta struct {
	lastLife  atomic.Uint64 // life that was last handed out
	reclaimed atomic.Uint64 // life whose OnReclaim returned
	pool      uint32
	retEra    atomic.Uint64
}

func newLedger(t *testing.T, n int) *r5ledger {
	return &r5ledger{t: t, states: make([]atomic.Uint32, n), msgs: make(chan string, 64)}
}

func (l *r5ledger) failf(format string, args ...any) {
	l.fail.Store(true)
	select {
	case l.msgs <- fmt.Sprintf(format, args...):
	default:
	}
}

func (l *r5ledger) report() {
	l.t.Helper()
	if l.fail.Load() {
		close(l.msgs)
		for m := range l.msgs {
			l.t.Error(m)
		}
		l.t.FailNow()
	}
}

func (l *r5ledger) meta(x *r5node) *r5meta {
	if m, ok := l.nodes.Load(x); ok {
		return m.(*r5meta)
	}
	return nil
}

// onReclaim is the Pool's OnReclaim: the life must be retired and end once.
func (l *r5ledger) onReclaim(x *r5node, panicEvery int, rng *atomic.Uint64) {
	life := x.life.Load()
	if life == 0 || life >= uint64(len(l.states)) {
		l.failf("OnReclaim on a node with life %d (zeroed: handed out again?)", life)
		return
	}
	if x.val.Load() != r5val(life) {
		l.failf("OnReclaim: node of life %d has a torn value", life)
	}
	if panicEvery > 0 && rng.Add(1)%uint64(panicEvery) == 0 {
		if !l.states[life].CompareAndSwap(r5Retired, r5Panicked) {
			l.failf("OnReclaim (panicking) on life %d in state %d", life, l.states[life].Load())
		}
		panic("r5: OnReclaim panics")
	}
	if !l.states[life].CompareAndSwap(r5Retired, r5Reclaimed) {
		l.failf("OnReclaim on life %d in state %d (want retired)", life, l.states[life].Load())
		return
	}
	if m := l.meta(x); m != nil {
		m.reclaimed.Store(life)
	} else {
		l.failf("OnReclaim on a node never handed out")
	}
}

// got checks a node that Get returned and starts a new life on it.
func (l *r5ledger) got(c *Collector, g *Guard, pool uint32, x *r5node) uint64 {
	if x.life.Load() != 0 || x.val.Load() != 0 || x.pool.Load() != 0 {
		l.failf("Get returned a node that is not zeroed (life %d)", x.life.Load())
	}
	m := l.meta(x)
	if m == nil {
		m = &r5meta{pool: pool}
		if a, loaded := l.nodes.LoadOrStore(x, m); loaded {
			m = a.(*r5meta)
		}
	}
	if m.pool != pool {
		l.failf("Pool %d handed out a node of Pool %d", pool, m.pool)
	}
	if prev := m.lastLife.Load(); prev != 0 {
		if st := l.states[prev].Load(); st != r5Reclaimed {
			l.failf("Get handed out a node whose previous life %d is in state %d (want reclaimed)", prev, st)
		}
		if m.reclaimed.Load() != prev {
			l.failf("Get handed out a node whose previous life %d OnReclaim did not end (last %d)", prev, m.reclaimed.Load())
		}
	}
	life := l.next.Add(1)
	if life >= uint64(len(l.states)) {
		return 0 // out of lives: caller stops
	}
	if !l.states[life].CompareAndSwap(r5Free, r5Live) {
		l.failf("life %d started twice", life)
	}
	if c.robust {
		b := birthOf(x)
		if b != g.s.Value.reserved || b == 0 || b > c.epoch.Load() {
			l.failf("Get: birth %d, guard's reservation %d, era %d", b, g.s.Value.reserved, c.epoch.Load())
		}
		if e := m.retEra.Load(); b < e {
			l.failf("Get: a recycled node has birth %d, before its last retirement era %d", b, e)
		}
	}
	m.lastLife.Store(life)
	x.pool.Store(pool)
	x.val.Store(r5val(life))
	x.life.Store(life)
	return life
}

// retiring marks x's life retired before the caller retires it.
func (l *r5ledger) retiring(c *Collector, x *r5node) {
	life := x.life.Load()
	if life == 0 || !l.states[life].CompareAndSwap(r5Live, r5Retired) {
		l.failf("retiring life %d in state %d", life, l.states[life].Load())
	}
	if c.robust {
		if m := l.meta(x); m != nil {
			m.retEra.Store(c.epoch.Load())
		}
	}
}

// check verifies a node loaded under an open guard, as expected life
// (0: first look).
func (l *r5ledger) check(x *r5node, want uint64, what string) uint64 {
	life := x.life.Load()
	if want != 0 && life != want {
		l.failf("%s: a node loaded under an open guard changed life %d -> %d (recycled under the guard)", what, want, life)
		return life
	}
	if life == 0 || life >= uint64(len(l.states)) {
		l.failf("%s: a loaded node has life %d (zeroed by Get while a guard holds it)", what, life)
		return life
	}
	if st := l.states[life].Load(); st != r5Live && st != r5Retired {
		l.failf("%s: a node loaded under an open guard is in state %d (reclaimed while held)", what, st)
	}
	if v := x.val.Load(); v != r5val(life) {
		l.failf("%s: a loaded node's value is torn", what)
	}
	return life
}

type r5cfg struct {
	robust     bool
	batch      int
	cells      int
	workers    int
	dur        time.Duration
	panicEvery int  // OnReclaim panics once every n calls (0: never)
	pools      int  // Pools sharing the Collector (>= 1)
	flip       bool // GOMAXPROCS flips
	flusher    bool // background Flush / Barrier
	nest       bool // nested Handle guards
	lives      int
	maxAge     time.Duration
}

// r5run runs the ledger workload and Close, and checks the ledger.
func r5run(t *testing.T, cfg r5cfg) {
	if cfg.pools == 0 {
		cfg.pools = 1
	}
	if cfg.lives == 0 {
		cfg.lives = 1 << 22
	}
	opts := []Option{WithBatchSize(cfg.batch), WithMaxBatchAge(cfg.maxAge)}
	if cfg.robust {
		opts = append(opts, WithRobust())
	}
	c := New(opts...)
	led := newLedger(t, cfg.lives)
	var prng atomic.Uint64
	pools := make([]*Pool[r5node], cfg.pools)
	for i := range pools {
		pools[i] = NewPool(c, OnReclaim(func(x *r5node) { led.onReclaim(x, cfg.panicEvery, &prng) }))
	}
	cells := make([][]atomic.Pointer[r5node], cfg.pools)
	for i := range cells {
		cells[i] = make([]atomic.Pointer[r5node], cfg.cells)
	}
	var panics atomic.Int64
	// protect runs f, recovering the OnReclaim panic.
	protect := func(f func()) {
		defer func() {
			if r := recover(); r != nil {
				if r != "r5: OnReclaim panics" {
					panic(r)
				}
				panics.Add(1)
			}
		}()
		f()
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var outOfLives atomic.Bool
	for w := range cfg.workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 77))
			var h *Handle
			if w%2 == 0 {
				h = c.Register()
				defer h.Unregister()
			}
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				if led.fail.Load() || outOfLives.Load() {
					return
				}
				var g *Guard
				if h != nil {
					g = h.Enter()
				} else {
					g = c.Enter()
				}
				protect(func() { r5guard(c, g, h, pools, cells, led, rng, cfg, &outOfLives, protect) })
				g.Exit()
			}
		}()
	}
	if cfg.flip {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
		stopFlip := procs.Flip(func() { time.Sleep(3 * time.Millisecond) })
		defer stopFlip()
	}
	if cfg.flusher {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				case <-time.After(2 * time.Millisecond):
				}
				if i%4 == 3 {
					ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
					protect(func() { _ = c.Barrier(ctx) })
					cancel()
				} else {
					protect(c.Flush)
				}
			}
		}()
	}
	time.Sleep(cfg.dur)
	close(stop)
	wg.Wait()
	led.report()
	// Unlink and retire everything still published.
	h := c.Register()
	g := h.Enter()
	for pi, p := range pools {
		for i := range cells[pi] {
			if x := cells[pi][i].Swap(nil); x != nil {
				led.retiring(c, x)
				protect(func() { p.Retire(g, x) })
			}
		}
	}
	g.Exit()
	h.Unregister()
	var err error
	closed := make(chan struct{})
	go func() {
		defer close(closed)
		// Each Close that meets a panicking OnReclaim (or a tick's stored
		// panic) raises it and stops: call it until it returns.
		for range 1_000_000 {
			done := false
			protect(func() { err = c.Close(); done = true })
			if done && err == nil {
				break
			}
		}
	}()
	select {
	case <-closed:
	case <-time.After(5 * time.Second):
		// Close spins while objects stay pending with no guard open:
		// something retired is lost. (The goroutine is left behind.)
		t.Fatalf("Close did not return in 5 s: pending %d (lost batches?)", c.pending())
	}
	if err != nil {
		t.Fatalf("Close: %v", err)
	}
	led.report()
	if p := c.pending(); p != 0 {
		t.Fatalf("Close left %d pending", p)
	}
	// Every life ended: retired lives were reclaimed (or dropped by a panic).
	n := min(led.next.Load(), uint64(len(led.states)-1))
	var live, retired, reclaimed, panicked int
	for i := uint64(1); i <= n; i++ {
		switch led.states[i].Load() {
		case r5Live:
			live++
		case r5Retired:
			retired++
		case r5Reclaimed:
			reclaimed++
		case r5Panicked:
			panicked++
		}
	}
	t.Logf("lives %d: reclaimed %d, panicked %d, dropped %d, live %d; OnReclaim panics seen %d", n, reclaimed, panicked, retired, live, panics.Load())
	if live != 0 {
		t.Fatalf("%d lives never retired", live)
	}
	if cfg.panicEvery == 0 && retired != 0 {
		t.Fatalf("%d retired lives never reclaimed after Close (leak)", retired)
	}
}

// r5guard is one guard's work: loads and checks, replaces, nested guards.
func r5guard(c *Collector, g *Guard, h *Handle, pools []*Pool[r5node], cells [][]atomic.Pointer[r5node], led *r5ledger,
	rng *rand.Rand, cfg r5cfg, out *atomic.Bool, protect func(func())) {
	type held struct {
		x    *r5node
		life uint64
	}
	var hs [6]held
	n := 0
	recheck := func(what string) {
		for _, e := range hs[:n] {
			led.check(e.x, e.life, what)
		}
	}
	ops := 1 + rng.IntN(8)
	for range ops {
		pi := rng.IntN(len(pools))
		p := pools[pi]
		cell := &cells[pi][rng.IntN(len(cells[pi]))]
		switch r := rng.IntN(10); {
		case r < 4: // read
			if x := Load(g, cell); x != nil && n < len(hs) {
				hs[n] = held{x, led.check(x, 0, "load")}
				n++
			}
		case r < 8: // replace
			old := Load(g, cell)
			if old != nil && n < len(hs) {
				hs[n] = held{old, led.check(old, 0, "load for replace")}
				n++
			}
			x := p.Get(g)
			life := led.got(c, g, uint32(pi+1), x)
			if life == 0 {
				out.Store(true) // out of lives: drop x, never retired
				return
			}
			if cell.CompareAndSwap(old, x) {
				if n < len(hs) {
					hs[n] = held{x, life}
					n++
				}
				if old != nil {
					led.retiring(c, old)
					p.Retire(g, old)
				}
			} else {
				led.retiring(c, x)
				p.Retire(g, x)
			}
		case r < 9 && h != nil && cfg.nest: // a nested guard that retires
			ng := h.Enter()
			func() {
				defer ng.Exit()
				if x := Load(ng, cell); x != nil {
					led.check(x, 0, "nested load")
					if cell.CompareAndSwap(x, nil) {
						led.retiring(c, x)
						p.Retire(ng, x)
					}
				}
			}()
		default:
			runtime.Gosched()
		}
		recheck("after op")
		if rng.IntN(3) == 0 {
			runtime.Gosched()
			recheck("after yield")
		}
	}
	if rng.IntN(20) == 0 {
		time.Sleep(50 * time.Microsecond)
		recheck("after sleep")
	}
	_ = protect
}

// r5modes runs f in both modes; under RECLAIM_TEST_MODE=robust only in the
// robust one (the other runs of the package cover the classic one).
func r5modes(t *testing.T, f func(t *testing.T, robust bool)) {
	if os.Getenv("RECLAIM_TEST_MODE") != "robust" {
		t.Run("classic", func(t *testing.T) { f(t, false) })
	}
	t.Run("robust", func(t *testing.T) { f(t, true) })
}

func r5dur() time.Duration {
	switch {
	case testing.Short():
		return 100 * time.Millisecond
	case race.Enabled:
		return 600 * time.Millisecond
	}
	return 250 * time.Millisecond
}

func TestPoolLedger(t *testing.T) {
	r5modes(t, func(t *testing.T, robust bool) {
		r5run(t, r5cfg{robust: robust, batch: 4, cells: 8, workers: 6, dur: r5dur(), nest: true, maxAge: time.Millisecond})
	})
}

func TestPoolLedgerFlushFlip(t *testing.T) {
	r5modes(t, func(t *testing.T, robust bool) {
		r5run(t, r5cfg{robust: robust, batch: 8, cells: 4, workers: 8, dur: r5dur(), nest: true,
			flip: true, flusher: true, maxAge: 2 * time.Millisecond})
	})
}

func TestPoolLedgerTwoPools(t *testing.T) {
	r5modes(t, func(t *testing.T, robust bool) {
		r5run(t, r5cfg{robust: robust, batch: 2, cells: 3, workers: 6, dur: r5dur(), pools: 2, flusher: true, maxAge: time.Millisecond})
	})
}

func TestPoolLedgerPanics(t *testing.T) {
	r5modes(t, func(t *testing.T, robust bool) {
		r5run(t, r5cfg{robust: robust, batch: 4, cells: 6, workers: 6, dur: r5dur(), panicEvery: 97, flusher: true, nest: true, maxAge: time.Millisecond})
	})
}

// With 64 slots or more a robust scan keeps its snapshot up to date
// (reservations.keepFrom) and merges the spans that moved; with more than
// 16 open guards seals sort the spans and add their own by insertion.
func TestPoolLedgerManySlots(t *testing.T) {
	r5modes(t, func(t *testing.T, robust bool) {
		r5run(t, r5cfg{robust: robust, batch: 4, cells: 16, workers: 150, dur: r5dur(), nest: true, flusher: true, maxAge: time.Millisecond})
	})
}

// Close with a guard open reclaims only what no open guard can reach: the
// nodes the open guard loaded stay intact, it may go on getting and
// retiring nodes, and a second Close after it exits reclaims everything,
// each node once.
func TestCloseWithOpenGuardKeepsItsNodes(t *testing.T) {
	r5modes(t, func(t *testing.T, robust bool) {
		opts := []Option{WithBatchSize(4), WithMaxBatchAge(0)}
		if robust {
			opts = append(opts, WithRobust())
		}
		c := New(opts...)
		led := newLedger(t, 1<<12)
		var none atomic.Uint64
		p := NewPool(c, OnReclaim(func(x *r5node) { led.onReclaim(x, 0, &none) }))
		cells := make([]atomic.Pointer[r5node], 8)
		w := c.Register()
		replaceAll := func() {
			g := w.Enter()
			for i := range cells {
				x := p.Get(g)
				led.got(c, g, 1, x)
				if old := cells[i].Swap(x); old != nil {
					led.retiring(c, old)
					p.Retire(g, old)
				}
			}
			g.Exit()
			c.Flush()
		}
		replaceAll()
		h := c.Register()
		g := h.Enter()
		var held [8]*r5node
		var lives [8]uint64
		for i := range cells {
			held[i] = Load(g, &cells[i])
			lives[i] = led.check(held[i], 0, "load")
		}
		for range 6 {
			replaceAll()
		}
		w.Unregister()
		if err := c.Close(); err == nil {
			t.Fatal("Close returned nil with a guard open")
		}
		for i := range held {
			led.check(held[i], lives[i], "after Close with the guard open")
		}
		led.report()
		// The open guard goes on: it gets and retires nodes of its own.
		for range 9 {
			x := p.Get(g)
			if led.got(c, g, 1, x) == 0 {
				t.Fatal("out of lives")
			}
			led.retiring(c, x)
			p.Retire(g, x)
			for i := range held {
				led.check(held[i], lives[i], "after Close, retiring")
			}
		}
		led.report()
		g.Exit()
		h.Unregister()
		for i := range cells {
			if x := cells[i].Swap(nil); x != nil {
				// unlinked after Close: retire needs a guard, which Close
				// forbids; these lives stay live by design.
				_ = x
			}
		}
		if err := c.Close(); err != nil {
			t.Fatalf("second Close: %v", err)
		}
		led.report()
		if pd := c.pending(); pd != 0 {
			t.Fatalf("pending %d after Close", pd)
		}
		for life := uint64(1); life <= led.next.Load(); life++ {
			if st := led.states[life].Load(); st == r5Retired {
				t.Fatalf("life %d retired but never reclaimed after Close", life)
			}
		}
	})
}
