package epoch

// The guard lifecycle and its misuse detection (pooled guards, Handles,
// nesting, Refresh, tracking, cells), with ledgers and poison, from an
// independent review.

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/go-reclaim/reclaim/internal/procs"
	"github.com/go-reclaim/reclaim/internal/race"
)

const r7exited = "epoch: Exit through a guard that has already exited"

// r7obj is a retired object: poisoned by its free function.
type r7obj struct {
	val   int64
	freed atomic.Bool
}

func r7free(o *r7obj) { o.freed.Store(true); atomic.StoreInt64(&o.val, -1) }

func r7modes(t *testing.T, f func(t *testing.T, opts ...Option)) {
	t.Run("classic", func(t *testing.T) { f(t) })
	t.Run("robust", func(t *testing.T) { f(t, WithRobust()) })
}

// r7retireNow retires o through a fresh pooled guard (after the caller's
// load of it), then pushes reclamation as hard as it can without waiting.
func r7retireNow(c *Collector, o *r7obj) {
	g := c.Enter()
	Retire(g, o, r7free)
	g.Exit()
	for range 6 {
		c.Flush()
	}
}

// warm makes every cell of h's slot ready, so that the outermost guard
// takes Exit's common case.
func r7warm(h *Handle) {
	for range 3 {
		h.Enter().Exit()
	}
}

// Inner guards of a Handle, entered and exited in every order inside an
// outer one (whose cell is ready, so its Exit would take the common case),
// never end the outer guard's protection: an object the outer guard loaded
// and another goroutine retired afterwards stays alive until the outer
// guard exits.
func TestGuardLifeInnerExitsKeepOuterProtection(t *testing.T) {
	r7modes(t, func(t *testing.T, opts ...Option) {
		c := New(append(opts, WithBatchSize(1))...)
		h := c.Register()
		var shared atomic.Pointer[r7obj]
		scenarios := []struct {
			name  string
			inner func(outer *Guard)
		}{
			{"one inner", func(*Guard) { h.Enter().Exit() }},
			{"two inner, LIFO", func(*Guard) {
				a, b := h.Enter(), h.Enter()
				b.Exit()
				a.Exit()
			}},
			{"two inner, FIFO", func(*Guard) {
				a, b := h.Enter(), h.Enter()
				a.Exit()
				b.Exit()
			}},
			{"inner inside inner", func(*Guard) {
				a := h.Enter()
				b := h.Enter()
				b.Exit()
				a.Exit()
			}},
			{"many inner with pooled in between", func(*Guard) {
				for range 10 {
					a := h.Enter()
					p := c.Enter()
					Retire(p, &r7obj{}, r7free)
					p.Exit()
					a.Exit()
				}
			}},
			{"inner retires and flushes", func(*Guard) {
				a := h.Enter()
				Retire(a, &r7obj{}, r7free)
				a.Flush()
				a.Exit()
			}},
			{"outer refreshed before load, then inners", func(outer *Guard) {
				h.Enter().Exit()
			}},
		}
		for _, sc := range scenarios {
			r7warm(h)
			outer := h.Enter()
			if strings.HasPrefix(sc.name, "outer refreshed") {
				c.Flush()
				outer.Refresh()
			}
			o := &r7obj{val: 7}
			shared.Store(o)
			x := Load(outer, &shared)
			shared.Store(nil)
			r7retireNow(c, x)
			sc.inner(outer)
			for range 6 {
				c.Flush()
			}
			require.False(t, x.freed.Load(), "%s: freed while the outer guard was open", sc.name)
			require.Equal(t, int64(7), atomic.LoadInt64(&x.val), sc.name)
			require.NotZero(t, h.s.Value.word.Load(), "%s: the outer guard's announcement is gone", sc.name)
			outer.Exit()
			require.Zero(t, h.s.Value.word.Load(), "%s: announcement left set after the last Exit", sc.name)
			require.NoError(t, c.Barrier(context.Background()))
			require.True(t, x.freed.Load(), "%s: not freed after Barrier", sc.name)
		}
		h.Unregister()
		require.NoError(t, c.Close())
	})
}

// The same with pooled guards nested in pooled guards (each takes its own
// slot: home, spare, free list), exited in any order: the first guard's
// protection survives.
func TestGuardLifePooledNestingKeepsProtection(t *testing.T) {
	r7modes(t, func(t *testing.T, opts ...Option) {
		c := New(append(opts, WithBatchSize(1))...)
		var shared atomic.Pointer[r7obj]
		for i := range 40 {
			a := c.Enter()
			o := &r7obj{val: 3}
			shared.Store(o)
			x := Load(a, &shared)
			b := c.Enter()
			d := c.Enter()
			require.NotSame(t, a, b)
			require.NotSame(t, b, d)
			require.True(t, a.s != b.s && b.s != d.s && a.s != d.s, "two open pooled guards share a slot")
			r7retireNow(c, x)
			if i%2 == 0 {
				b.Exit()
				d.Exit()
			} else {
				d.Exit()
				b.Exit()
			}
			for range 4 {
				c.Flush()
			}
			require.False(t, x.freed.Load(), "iteration %d", i)
			a.Exit()
		}
		require.NoError(t, c.Barrier(context.Background()))
		require.NoError(t, c.Close())
	})
}

// Refresh keeps protecting what is loaded after it: the guard's
// announcement after Refresh is current and holds back what is retired
// later. Pooled and Handle guards, outermost and (after the outer exited)
// a nested guard left alone.
func TestGuardLifeRefreshProtectsLaterLoads(t *testing.T) {
	r7modes(t, func(t *testing.T, opts ...Option) {
		c := New(append(opts, WithBatchSize(1))...)
		h := c.Register()
		var shared atomic.Pointer[r7obj]
		enters := map[string]func() (*Guard, func()){
			"pooled": func() (*Guard, func()) { g := c.Enter(); return g, g.Exit },
			"handle": func() (*Guard, func()) { g := h.Enter(); return g, g.Exit },
			"lone nested": func() (*Guard, func()) {
				outer := h.Enter()
				inner := h.Enter()
				outer.Exit()
				return inner, inner.Exit
			},
		}
		for name, enter := range enters {
			for round := range 4 {
				g, exit := enter()
				for range 3 {
					r7retireNow(c, &r7obj{}) // moves the epoch past g's entry
					g.Refresh()
					require.NotZero(t, g.s.Value.word.Load(), "%s: Refresh left no announcement", name)
				}
				o := &r7obj{val: 9}
				shared.Store(o)
				x := Load(g, &shared)
				shared.Store(nil)
				r7retireNow(c, x)
				require.False(t, x.freed.Load(), "%s round %d: an object loaded after Refresh was freed under the guard", name, round)
				exit()
				require.NoError(t, c.Barrier(context.Background()))
				require.True(t, x.freed.Load())
			}
		}
		h.Unregister()
		require.NoError(t, c.Close())
	})
}

// A guard used after Exit still panics when the slot opened one more guard
// that itself nested, refreshed or failed, and the live guard is untouched.
func TestGuardLifeStaleAfterOneBusyGuard(t *testing.T) {
	c := New(WithBatchSize(1))
	h := c.Register()
	busy := map[string]func(enter func() *Guard) *Guard{
		"nested inside": func(enter func() *Guard) *Guard {
			g := enter()
			h.Enter().Exit()
			return g
		},
		"refreshed": func(enter func() *Guard) *Guard {
			g := enter()
			r7retireNow(c, &r7obj{})
			g.Refresh()
			return g
		},
		"pooled inside": func(enter func() *Guard) *Guard {
			g := enter()
			c.Enter().Exit()
			return g
		},
	}
	for _, kind := range []string{"pooled", "handle"} {
		enter := c.Enter
		if kind == "handle" {
			enter = h.Enter
		}
		for name, f := range busy {
			if kind == "pooled" && name == "nested inside" {
				continue
			}
			for range 3 {
				stale := enter()
				stale.Exit()
				live := f(enter)
				require.PanicsWithValue(t, r7exited, stale.Exit, "%s/%s", kind, name)
				require.PanicsWithValue(t, "epoch: Refresh through a guard that has already exited", stale.Refresh, "%s/%s", kind, name)
				require.True(t, live.Open(), "%s/%s", kind, name)
				require.NotZero(t, live.s.Value.word.Load(), "%s/%s: the stale Exit ended the live guard", kind, name)
				live.Exit()
				require.PanicsWithValue(t, r7exited, live.Exit, "%s/%s", kind, name)
			}
		}
	}
	require.Zero(t, c.Stats().Guards)
	h.Unregister()
	require.NoError(t, c.Close())
}

// Refreshing the outermost guard while a guard nested in it is open must
// panic (the inner guard may hold pointers) and leave both guards open.
func TestGuardLifeRefreshOuterWithInnerOpenPanics(t *testing.T) {
	c := New(WithBatchSize(1))
	h := c.Register()
	r7warm(h)
	outer := h.Enter()
	inner := h.Enter()
	r7retireNow(c, &r7obj{})
	var shared atomic.Pointer[r7obj]
	shared.Store(&r7obj{val: 5})
	x := Load(inner, &shared)
	shared.Store(nil)
	require.Panics(t, outer.Refresh)
	r7retireNow(c, x)
	require.False(t, x.freed.Load(), "the inner guard lost its object")
	inner.Exit()
	outer.Exit()
	require.Zero(t, h.s.Value.word.Load())
	h.Unregister()
	require.NoError(t, c.Close())
}

// The panic of that Refresh names the mistake without blaming the wrong
// guard: the guard refreshed is the outermost one, and it is the nested
// guard still open that may hold pointers. (A review found it saying
// "Refresh on a nested guard: the outer guard ... may still hold
// pointers", the other way round; a guard cannot always tell whether it
// is the outer one, so the message now names both.)
func TestGuardLifeRefreshOuterWithInnerOpenMessage(t *testing.T) {
	c := New()
	h := c.Register()
	outer := h.Enter()
	inner := h.Enter()
	var msg string
	func() {
		defer func() { msg = fmt.Sprint(recover()) }()
		outer.Refresh()
	}()
	inner.Exit()
	outer.Exit()
	h.Unregister()
	require.NoError(t, c.Close())
	require.NotContains(t, msg, "Refresh on a nested guard",
		"Refresh of the outermost guard is reported as Refresh of a nested guard: %q", msg)
	require.Contains(t, msg, "guards of the same Handle are nested", "%q", msg)
}

// With tracking, Barrier inside one's own guard panics whatever the shape
// of the guard, and never when the only open guards are other goroutines'.
func TestGuardLifeBarrierSelfWaitTracking(t *testing.T) {
	c := New(WithGuardTracking())
	h := c.Register()
	const prefix = "epoch: Barrier called inside a guard of the same Collector on this goroutine"
	barrierPanics := func(name string) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		var msg string
		func() {
			defer func() { msg = fmt.Sprint(recover()) }()
			_ = c.Barrier(ctx)
		}()
		require.True(t, strings.HasPrefix(msg, prefix), "%s: %q", name, msg)
	}
	{
		g := c.Enter()
		barrierPanics("pooled")
		g.Exit()
	}
	{
		g := h.Enter()
		barrierPanics("handle")
		g.Exit()
	}
	{
		o := h.Enter()
		i := h.Enter()
		o.Exit()
		barrierPanics("lone nested")
		i.Exit()
	}
	{
		g := c.Enter()
		Retire(g, &r7obj{}, r7free)
		c.Flush()
		g.Refresh()
		barrierPanics("refreshed")
		g.Exit()
	}
	{
		// Another goroutine's guard on a slot this goroutine used before.
		for range 10 {
			c.Enter().Exit()
		}
		release := make(chan struct{})
		entered := make(chan struct{})
		var wg sync.WaitGroup
		wg.Go(func() {
			g := c.Enter()
			close(entered)
			<-release
			g.Exit()
		})
		<-entered
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
		require.NotPanics(t, func() { require.ErrorIs(t, c.Barrier(ctx), context.DeadlineExceeded) })
		cancel()
		close(release)
		wg.Wait()
		require.NoError(t, c.Barrier(context.Background()))
	}
	h.Unregister()
	require.NoError(t, c.Close())
}

// Enter does not allocate in caller shapes beyond the package's own
// checks: three pooled guards exited in any order, a Handle's rolling
// nesting (the outer exits first each time), pooled guards inside a Handle
// guard, and Refresh through a function value.
func TestGuardLifeAllocsShapes(t *testing.T) {
	if race.Enabled {
		t.Skip("allocation counts need a build without -race")
	}
	c := New()
	defer c.Close()
	h := c.Register()
	defer h.Unregister()
	var sink atomic.Pointer[Guard]
	use := func(g *Guard) { sink.Store(g) }
	run := func(name string, f func()) {
		t.Helper()
		for range 2000 {
			f()
		}
		if n := testing.AllocsPerRun(5000, f); n != 0 {
			t.Errorf("%s: %v allocations per Enter", name, n)
		}
	}
	run("three pooled, FIFO exits", func() {
		a, b, d := c.Enter(), c.Enter(), c.Enter()
		use(a)
		use(b)
		use(d)
		a.Exit()
		b.Exit()
		d.Exit()
	})
	run("three pooled, mixed exits", func() {
		a, b, d := c.Enter(), c.Enter(), c.Enter()
		use(d)
		b.Exit()
		a.Exit()
		d.Exit()
	})
	var carry *Guard
	run("rolling Handle nesting", func() {
		if carry == nil {
			carry = h.Enter()
		}
		next := h.Enter()
		use(next)
		carry.Exit()
		carry = next
	})
	carry.Exit()
	run("pooled inside Handle guard", func() {
		o := h.Enter()
		p := c.Enter()
		use(p)
		o.Exit()
		p.Exit()
	})
	refresh := func(g *Guard) { g.Refresh() }
	run("Refresh through a function value", func() {
		g := c.Enter()
		use(g)
		refresh(g)
		g.Exit()
	})
	sink.Store(nil)
}

// Slot ownership ledger: every open pooled guard (and every Handle) holds
// a slot nobody else holds, its cell is no other open guard's, and its
// announcement stays set until Exit, while goroutines migrate between Ps
// (Gosched between Enter and Exit), GOMAXPROCS changes, Handles come and
// go, and collectors claim idle slots (Flush, Barrier).
func TestGuardLifeSlotLedgerAcrossMigration(t *testing.T) {
	r7modes(t, func(t *testing.T, opts ...Option) {
		c := New(append(opts, WithBatchSize(4))...)
		var owners sync.Map // slot index -> *atomic.Int64
		var cells sync.Map  // *Guard -> *atomic.Int64
		ledger := func(m *sync.Map, k any) *atomic.Int64 {
			v, _ := m.LoadOrStore(k, new(atomic.Int64))
			return v.(*atomic.Int64)
		}
		var bad atomic.Value
		fail := func(format string, a ...any) { bad.CompareAndSwap(nil, fmt.Sprintf(format, a...)) }
		take := func(g *Guard, id int64) {
			if !ledger(&owners, g.s.Index()).CompareAndSwap(0, id) {
				fail("slot %d handed to two goroutines", g.s.Index())
			}
			if !ledger(&cells, g).CompareAndSwap(0, id) {
				fail("cell %p handed to two open guards", g)
			}
		}
		give := func(g *Guard, id int64) {
			if g.s.Value.word.Load() == 0 {
				fail("announcement of an open guard lost on slot %d", g.s.Index())
			}
			if !ledger(&cells, g).CompareAndSwap(id, 0) {
				fail("cell %p taken meanwhile", g)
			}
			if !ledger(&owners, g.s.Index()).CompareAndSwap(id, 0) {
				fail("slot %d taken meanwhile", g.s.Index())
			}
		}
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
		stop := make(chan struct{})
		var wg sync.WaitGroup
		for w := range 6 {
			wg.Go(func() {
				id := int64(w + 1)
				for i := 0; ; i++ {
					select {
					case <-stop:
						return
					default:
					}
					g := c.Enter()
					take(g, id)
					if i%3 == 0 {
						runtime.Gosched()
					}
					if i%5 == 0 {
						inner := c.Enter()
						take(inner, id)
						Retire(inner, &r7obj{}, r7free)
						give(inner, id)
						inner.Exit()
					}
					Retire(g, &r7obj{}, r7free)
					if i%7 == 0 {
						runtime.Gosched()
					}
					give(g, id)
					g.Exit()
					if i%50 == 0 {
						h := c.Register()
						hg := h.Enter()
						take(hg, id)
						runtime.Gosched()
						give(hg, id)
						hg.Exit()
						h.Unregister()
					}
				}
			})
		}
		stopFlip := procs.Flip(func() { // collectors claim idle slots between the changes
			c.Flush()
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Millisecond)
			_ = c.Barrier(ctx)
			cancel()
			time.Sleep(200 * time.Microsecond)
		})
		time.Sleep(400 * time.Millisecond)
		close(stop)
		wg.Wait()
		stopFlip()
		if b := bad.Load(); b != nil {
			t.Fatal(b)
		}
		require.Zero(t, c.Stats().Guards)
		require.NoError(t, c.Close())
	})
}

// Protection under churn: readers on pooled guards (and Handles, nested)
// load the shared object, are descheduled, and find it unpoisoned; a
// writer swaps and retires continuously; GOMAXPROCS flips.
func TestGuardLifeProtectionUnderChurn(t *testing.T) {
	r7modes(t, func(t *testing.T, opts ...Option) {
		c := New(append(opts, WithBatchSize(2))...)
		var shared atomic.Pointer[r7obj]
		shared.Store(&r7obj{val: 1})
		procs := runtime.GOMAXPROCS(0)
		defer runtime.GOMAXPROCS(procs)
		var bad atomic.Value
		stop := make(chan struct{})
		var wg sync.WaitGroup
		for w := range 4 {
			wg.Go(func() {
				h := c.Register()
				defer h.Unregister()
				for i := 0; ; i++ {
					select {
					case <-stop:
						return
					default:
					}
					var g *Guard
					var outer *Guard
					switch (i + w) % 4 {
					case 0, 1:
						g = c.Enter()
					case 2:
						g = h.Enter()
					case 3:
						outer = h.Enter()
						g = h.Enter()
						h.Enter().Exit()
					}
					if i%16 == 0 && outer == nil {
						g.Refresh()
					}
					x := Load(g, &shared)
					if outer != nil {
						outer.Exit() // the inner guard g now holds x alone
					}
					if i%3 == 0 {
						runtime.Gosched()
					}
					if atomic.LoadInt64(&x.val) < 0 {
						bad.CompareAndSwap(nil, fmt.Sprintf("worker %d shape %d: loaded object freed under the guard", w, (i+w)%4))
					}
					g.Exit()
				}
			})
		}
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				g := c.Enter()
				old := shared.Swap(&r7obj{val: int64(i + 2)})
				Retire(g, old, r7free)
				g.Exit()
				if i%32 == 0 {
					c.Flush()
					runtime.GOMAXPROCS(1 + i/32%3)
				}
			}
		})
		time.Sleep(400 * time.Millisecond)
		close(stop)
		wg.Wait()
		runtime.GOMAXPROCS(procs)
		if b := bad.Load(); b != nil {
			t.Fatal(b)
		}
		require.NoError(t, c.Close())
	})
}
