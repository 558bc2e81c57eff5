package epoch

// Guard tracking's site against the announcement (Stats and
// checkNotInGuard count and name every open guard of every kind), the
// zero values (every entry point panics naming the mistake, never a nil
// dereference or a fatal error), and Close's error naming the oldest
// guard's stack (from an independent review of those changes). Internal
// (package epoch) for testHookClaimed and the re-execution of the test
// binary for the zero values.

import (
	"context"
	"errors"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-reclaim/reclaim/internal/childcase"
)

const trackBarrierPanic = "epoch: Barrier called inside a guard of the same Collector on this goroutine"

func trackModes(t *testing.T, test func(t *testing.T, opts []Option)) {
	t.Run("classic", func(t *testing.T) { test(t, []Option{WithGuardTracking()}) })
	t.Run("robust", func(t *testing.T) { test(t, []Option{WithGuardTracking(), WithRobust()}) })
}

// trackBarrierPanics calls Barrier on the current goroutine, which holds a
// guard of c, and reports whether checkNotInGuard panicked. If it missed
// the guard, Barrier would wait for it: the short ctx ends that wait.
func trackBarrierPanics(c *Collector) (panicked bool, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	defer func() {
		if r := recover(); r != nil {
			msg, _ := r.(string)
			if !strings.HasPrefix(msg, trackBarrierPanic) {
				panic(r)
			}
			panicked = true
		}
	}()
	return false, c.Barrier(ctx)
}

func trackRequireGuards(t *testing.T, c *Collector, want int, frame string) {
	t.Helper()
	st := c.Stats()
	if st.Guards != want {
		t.Fatalf("Stats().Guards = %d, want %d", st.Guards, want)
	}
	if want > 0 {
		if st.OldestGuardStack == "" {
			t.Fatalf("Stats counted %d guard(s) but named no stack", st.Guards)
		}
		if frame != "" && !strings.HasPrefix(st.OldestGuardStack, "github.com/go-reclaim/reclaim/epoch."+frame+"\n") {
			t.Fatalf("OldestGuardStack does not start at %s:\n%s", frame, st.OldestGuardStack)
		}
	}
}

//go:noinline
func trackEnterPooled(c *Collector) *Guard { return c.Enter() }

//go:noinline
func trackEnterHandle(h *Handle) *Guard { return h.Enter() }

//go:noinline
func trackEnterNested(h *Handle) *Guard { return h.Enter() }

//go:noinline
func trackRefresh(g *Guard) { g.Refresh() }

// Every kind of open guard is counted once under tracking, with a stack
// that starts where it was entered (or refreshed), and Barrier on its own
// goroutine panics.
func TestTrackedGuardKinds(t *testing.T) {
	trackModes(t, func(t *testing.T, opts []Option) {
		c := New(opts...)
		check := func(want int, frame string) {
			t.Helper()
			trackRequireGuards(t, c, want, frame)
			if want > 0 {
				if ok, err := trackBarrierPanics(c); !ok {
					t.Fatalf("Barrier inside an open guard did not panic (err %v)", err)
				}
			}
		}

		g := trackEnterPooled(c)
		check(1, "trackEnterPooled")
		g.Exit()
		check(0, "")

		h := c.Register()
		g = trackEnterHandle(h)
		check(1, "trackEnterHandle")
		n := trackEnterNested(h)
		check(1, "trackEnterHandle")
		n.Exit()
		check(1, "trackEnterHandle")
		g.Exit()
		check(0, "")

		// Refresh after the epoch moved and with a flush request pending.
		g = trackEnterHandle(h)
		Retire(g, new(int), func(*int) {})
		e := c.Stats().Epoch
		c.Flush()
		done := make(chan error)
		go func() { // raises flushReq while g is open
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Millisecond)
			defer cancel()
			done <- c.Barrier(ctx)
		}()
		<-done
		t.Logf("epoch %d -> %d", e, c.Stats().Epoch)
		trackRefresh(g)
		check(1, "trackRefresh")
		g.Exit()
		check(0, "")

		// Exit with a flush request pending (flushAndUnpin).
		g = trackEnterPooled(c)
		Retire(g, new(int), func(*int) {})
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Millisecond)
			defer cancel()
			done <- c.Barrier(ctx)
		}()
		<-done
		if c.flushReq.Load() == g.s.Value.flushed.Load() {
			t.Fatal("no flush request pending")
		}
		check(1, "trackEnterPooled")
		g.Exit()
		check(0, "")

		h.Unregister()
		if err := c.Barrier(context.Background()); err != nil {
			t.Fatal(err)
		}
		if err := c.Close(); err != nil {
			t.Fatal(err)
		}
	})
}

// A guard entered while a collector claims its (idle) slot withdraws its
// announcement in pinSlow and announces again: once Enter returns it is
// counted, with its stack, and Barrier on its goroutine panics.
func TestTrackedGuardAfterClaim(t *testing.T) {
	trackModes(t, func(t *testing.T, opts []Option) {
		c := New(opts...)
		h := c.Register()
		var once sync.Once
		type report struct {
			panicked bool
			err      error
		}
		entered := make(chan report)
		exit := make(chan struct{})
		exited := make(chan struct{})
		hooked := make(chan struct{})
		testHookClaimed = func(s *slot) {
			if s != h.s {
				return
			}
			once.Do(func() {
				go func() {
					g := trackEnterHandle(h)
					ok, err := trackBarrierPanics(c)
					entered <- report{ok, err}
					<-exit
					g.Exit()
					close(exited)
				}()
				// Let the Enter announce, see the claim and withdraw.
				deadline := time.Now().Add(time.Second)
				for h.s.Value.site.Load() == nil && time.Now().Before(deadline) {
					runtime.Gosched()
				}
				time.Sleep(5 * time.Millisecond)
				if w := h.s.Value.word.Load(); w != 0 {
					t.Errorf("word %d while the slot is claimed", w)
				}
				close(hooked)
			})
		}
		t.Cleanup(func() { testHookClaimed = nil })
		barrier := make(chan error)
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			barrier <- c.Barrier(ctx)
		}()
		<-hooked
		r := <-entered
		testHookClaimed = nil
		if !r.panicked {
			t.Errorf("Barrier inside a guard entered through a claim did not panic (err %v)", r.err)
		}
		trackRequireGuards(t, c, 1, "trackEnterHandle")
		// Another goroutine's Barrier is not inside the guard: it waits.
		if ok, _ := trackBarrierPanics(c); ok {
			t.Fatal("Barrier panicked on a goroutine that holds no guard")
		}
		close(exit)
		<-exited
		if err := <-barrier; err != nil {
			t.Fatal(err)
		}
		trackRequireGuards(t, c, 0, "")
		h.Unregister()
		if err := c.Close(); err != nil {
			t.Fatal(err)
		}
	})
}

// Under churn (pooled and Handle guards entered and exited, nested,
// refreshed, exits with flush requests pending, idle slots claimed by
// Flush and Barrier), Stats never counts fewer than the guards held open
// throughout, always names a stack, and Barrier inside a held guard always
// panics.
func TestStatsNeverUndercountsUnderChurn(t *testing.T) {
	trackModes(t, func(t *testing.T, opts []Option) {
		c := New(append(opts, WithBatchSize(8), WithMaxBatchAge(time.Millisecond))...)
		const held = 3
		var (
			stop     atomic.Bool
			ready    sync.WaitGroup
			wg       sync.WaitGroup
			misses   atomic.Int32
			barriers atomic.Int32
		)
		free := func(*int) {}
		tryBarrier := func() { // inside a held guard: it must panic
			if ok, _ := trackBarrierPanics(c); !ok {
				misses.Add(1)
			}
			barriers.Add(1)
		}
		ready.Add(held)
		// holder 0: pooled guard, refreshed over and over.
		wg.Go(func() {
			g := c.Enter()
			ready.Done()
			for i := 0; !stop.Load(); i++ {
				Retire(g, new(int), free)
				g.Refresh()
				if i%64 == 0 {
					tryBarrier()
				}
				runtime.Gosched()
			}
			g.Exit()
		})
		// holder 1: a Handle's outer guard, with guards nested in it, one
		// of which outlives the outer: the outer is re-entered on top.
		wg.Go(func() {
			h := c.Register()
			outer := h.Enter()
			ready.Done()
			for i := 0; !stop.Load(); i++ {
				n := h.Enter()
				Retire(n, new(int), free)
				if i%2 == 0 {
					outer.Exit() // rolling nesting: n is now the one holding the slot
					outer = n
				} else {
					n.Exit()
				}
				if i%64 == 0 {
					tryBarrier()
				}
				runtime.Gosched()
			}
			outer.Exit()
			h.Unregister()
		})
		// holder 2: pooled guard that retires full batches.
		wg.Go(func() {
			g := c.Enter()
			ready.Done()
			for i := 0; !stop.Load(); i++ {
				Retire(g, new(int), free)
				if i%64 == 0 {
					tryBarrier()
				}
				runtime.Gosched()
			}
			g.Exit()
		})
		ready.Wait()
		// churners
		for range 2 {
			wg.Go(func() {
				h := c.Register()
				for i := 0; !stop.Load(); i++ {
					var g *Guard
					if i%2 == 0 {
						g = c.Enter()
					} else {
						g = h.Enter()
					}
					Retire(g, new(int), free)
					g.Exit()
				}
				h.Unregister()
			})
		}
		// flusher: claims idle slots, raises flush requests.
		wg.Go(func() {
			for !stop.Load() {
				c.Flush()
				ctx, cancel := context.WithTimeout(context.Background(), 200*time.Microsecond)
				_ = c.Barrier(ctx)
				cancel()
			}
		})
		deadline := time.Now().Add(700 * time.Millisecond)
		scans, under, nameless := 0, 0, 0
		minSeen := 1 << 30
		for time.Now().Before(deadline) {
			st := c.Stats()
			scans++
			minSeen = min(minSeen, st.Guards)
			if st.Guards < held {
				under++
			}
			if st.Guards > 0 && st.OldestGuardStack == "" {
				nameless++
			}
		}
		stop.Store(true)
		wg.Wait()
		t.Logf("%d scans, fewest guards seen %d, %d Barrier checks", scans, minSeen, barriers.Load())
		if under > 0 {
			t.Errorf("Stats counted fewer than the %d guards held open in %d of %d scans (fewest %d)", held, under, scans, minSeen)
		}
		if nameless > 0 {
			t.Errorf("Stats counted guards but named no stack in %d scans", nameless)
		}
		if m := misses.Load(); m > 0 {
			t.Errorf("Barrier inside a held guard did not panic %d of %d times", m, barriers.Load())
		}
		if err := c.Barrier(context.Background()); err != nil {
			t.Fatal(err)
		}
		if err := c.Close(); err != nil {
			t.Fatal(err)
		}
	})
}

//go:noinline
func trackHold(c *Collector) *Guard { return c.Enter() }

// The closed-collector path of enterAnnounced (announce, see closedBit,
// clear the word and then the site) never hides a guard that is held: Stats
// keeps counting the held guards while Enters fail around them, and Close's
// error names a held guard's stack (not a failed Enter's).
func TestStatsAcrossClose(t *testing.T) {
	trackModes(t, func(t *testing.T, opts []Option) {
		c := New(opts...)
		const held = 2
		exit := make(chan struct{})
		var ready, wg sync.WaitGroup
		ready.Add(held)
		for range held {
			wg.Go(func() {
				g := trackHold(c)
				ready.Done()
				<-exit
				g.Exit()
			})
		}
		ready.Wait()
		time.Sleep(2 * time.Millisecond) // the held guards are older than any churner's
		var stop atomic.Bool
		var failed atomic.Int64
		handles := []*Handle{c.Register(), c.Register()}
		for i := range 2 {
			wg.Go(func() {
				h := handles[i]
				for !stop.Load() {
					func() {
						defer func() {
							if r := recover(); r != nil {
								if r != "epoch: Enter on a closed Collector" {
									panic(r)
								}
								failed.Add(1)
							}
						}()
						var g *Guard
						if i == 0 {
							g = c.Enter()
						} else {
							g = h.Enter()
						}
						g.Exit()
					}()
				}
			})
		}
		time.Sleep(5 * time.Millisecond)
		err := c.Close()
		if !errors.Is(err, ErrGuardsOpen) {
			t.Fatalf("Close: %v", err)
		}
		if !strings.Contains(err.Error(), "was entered at:\ngithub.com/go-reclaim/reclaim/epoch.trackHold\n") {
			t.Errorf("Close's error does not name a held guard's stack:\n%v", err)
		}
		deadline := time.Now().Add(200 * time.Millisecond)
		under := 0
		for time.Now().Before(deadline) {
			if st := c.Stats(); st.Guards < held || !strings.HasPrefix(st.OldestGuardStack, "github.com/go-reclaim/reclaim/epoch.trackHold\n") {
				under++
			}
		}
		stop.Store(true)
		close(exit)
		wg.Wait()
		t.Logf("%d failed Enters after Close", failed.Load())
		if failed.Load() == 0 {
			t.Error("no Enter reached the closed path")
		}
		if under > 0 {
			t.Errorf("%d scans after Close counted fewer than %d guards or named another stack", under, held)
		}
		for _, h := range handles {
			h.Unregister()
		}
		if err := c.Close(); err != nil {
			t.Fatal(err)
		}
	})
}

//go:noinline
func trackEnterOlder(c *Collector) *Guard { return c.Enter() }

//go:noinline
func trackEnterYounger(c *Collector) *Guard { return c.Enter() }

// Close's error names the oldest of several open guards; a Close racing
// with goroutines that open and exit tracked guards (and Stats callers)
// neither deadlocks nor races (run with -race).
func TestCloseNamesOldestUnderChurn(t *testing.T) {
	trackModes(t, func(t *testing.T, opts []Option) {
		c := New(opts...)
		old := trackEnterOlder(c)
		time.Sleep(2 * time.Millisecond)
		young := make(chan *Guard)
		exitYoung := make(chan struct{})
		go func() {
			g := trackEnterYounger(c)
			young <- g
			<-exitYoung
			g.Exit()
		}()
		<-young
		var stop atomic.Bool
		var wg sync.WaitGroup
		for range 2 {
			wg.Go(func() {
				for !stop.Load() {
					func() {
						defer func() { _ = recover() }()
						g := c.Enter()
						Retire(g, new(int), func(*int) {})
						g.Exit()
					}()
				}
			})
		}
		wg.Go(func() {
			for !stop.Load() {
				_ = c.Stats()
			}
		})
		time.Sleep(20 * time.Millisecond)
		errc := make(chan error)
		go func() { errc <- c.Close() }()
		var err error
		select {
		case err = <-errc:
		case <-time.After(10 * time.Second):
			t.Fatal("Close did not return: deadlock?")
		}
		stop.Store(true)
		wg.Wait()
		if !errors.Is(err, ErrGuardsOpen) {
			t.Fatalf("Close: %v", err)
		}
		if !strings.Contains(err.Error(), "was entered at:\ngithub.com/go-reclaim/reclaim/epoch.trackEnterOlder\n") {
			t.Errorf("Close's error does not name the oldest guard:\n%v", err)
		}
		close(exitYoung)
		old.Exit()
		for {
			if err = c.Close(); !errors.Is(err, ErrGuardsOpen) {
				break
			}
			time.Sleep(time.Millisecond)
		}
		if err != nil {
			t.Fatal(err)
		}
	})
}

// A Handle's guards may exit in any order. Once the outer one exits, the
// slot stays pinned by the nested one, as it has been since the outer's
// Enter: Stats (and Close's error) report that Enter's stack and age, as
// OldestGuardStack documents.
func TestStackOfNestedGuardOutlivingOuter(t *testing.T) {
	trackModes(t, func(t *testing.T, opts []Option) {
		c := New(opts...)
		h := c.Register()
		outer := trackEnterHandle(h)
		time.Sleep(20 * time.Millisecond)
		nested := trackEnterNested(h)
		outer.Exit()
		st := c.Stats()
		bad := st.Guards != 1 || !strings.HasPrefix(st.OldestGuardStack, "github.com/go-reclaim/reclaim/epoch.trackEnterHandle\n") ||
			st.OldestGuardAge < 20*time.Millisecond
		err := c.Close()
		nested.Exit()
		h.Unregister()
		if cerr := c.Close(); cerr != nil {
			t.Fatal(cerr)
		}
		if bad {
			t.Errorf("the slot is pinned since the outer guard's Enter, yet Stats reports age %v and stack:\n%s\nClose said: %v",
				st.OldestGuardAge, st.OldestGuardStack, err)
		}
	})
}

// ---- zero values (change 2) ----

// zeroCases are the entry points on zero values (and values made from
// them), each run in a child process, since a panic while pinned to a
// processor is a fatal error that kills the test binary.
var zeroCases = map[string]func(){
	"Collector.Enter":    func() { var c Collector; c.Enter() },
	"Collector.Register": func() { var c Collector; c.Register() },
	"Collector.Close":    func() { var c Collector; _ = c.Close() },
	"Collector.Stats":    func() { var c Collector; c.Stats() },
	"Collector.Flush":    func() { var c Collector; c.Flush() },
	"Collector.Barrier":  func() { var c Collector; _ = c.Barrier(context.Background()) },
	"NewPool":            func() { var c Collector; NewPool[int](&c) },
	"Handle.Enter":       func() { var h Handle; h.Enter() },
	"Handle.Unregister":  func() { var h Handle; h.Unregister() },
	"Guard.Exit":         func() { var g Guard; g.Exit() },
	"Guard.Refresh":      func() { var g Guard; g.Refresh() },
	"Guard.Flush":        func() { var g Guard; g.Flush() },
	"Guard.Defer":        func() { var g Guard; g.Defer(func() {}) },
	"Guard.Reserve":      func() { var g Guard; g.Reserve() },
	"Guard.Reservation":  func() { var g Guard; g.Reservation() },
	"Load":               func() { var g Guard; Load(&g, new(atomic.Pointer[int])) },
	"Retire":             func() { var g Guard; Retire(&g, new(int), func(*int) {}) },
	"Pool.Get(zero guard)": func() {
		c := New()
		defer c.Close()
		var g Guard
		NewPool[int](c).Get(&g)
	},
	"Pool.Retire(zero guard)": func() {
		c := New()
		defer c.Close()
		var g Guard
		NewPool[int](c).Retire(&g, new(int))
	},
	"robust Pool.Get(zero guard)": func() {
		c := New(WithRobust())
		defer c.Close()
		var g Guard
		NewPool[int](c).Get(&g)
	},
	"robust Pool.Retire(zero guard)": func() {
		c := New(WithRobust())
		defer c.Close()
		var g Guard
		NewPool[int](c).Retire(&g, new(int))
	},
	"zero Pool.Get": func() {
		c := New()
		defer c.Close()
		g := c.Enter()
		defer g.Exit()
		var p Pool[int]
		p.Get(g)
	},
	"zero Pool.Retire": func() {
		c := New()
		defer c.Close()
		g := c.Enter()
		defer g.Exit()
		var p Pool[int]
		p.Retire(g, new(int))
	},
	"Reservation.Current": func() { var r Reservation; r.Current() },
}

// The child: runs the case named by TestZeroValues.
func TestZeroChild(t *testing.T) { childcase.Child(t, zeroCases) }

// Each entry point on a zero value panics with a message of the package
// (a string starting "epoch: "), never a nil dereference, and never a fatal
// error.
func TestZeroValues(t *testing.T) {
	childcase.Run(t, "TestZeroChild", zeroCases, "epoch: ")
}

// mustBeMade never fires on a made Collector: Default, after Close, from a
// free function, during a Close of another goroutine.
func TestMustBeMadeNoFalsePositive(t *testing.T) {
	d := Default()
	d.mustBeMade("x")
	_ = d.Stats()
	d.Flush()
	for _, opts := range [][]Option{nil, {WithRobust()}, {WithGuardTracking()}} {
		c := New(opts...)
		var inFree atomic.Int32
		g := c.Enter()
		Retire(g, new(int), func(*int) {
			_ = c.Stats()
			c.Flush()
			inFree.Add(1)
		})
		g.Exit()
		p := NewPool[int](c)
		stop := make(chan struct{})
		done := make(chan struct{})
		go func() {
			defer close(done)
			for {
				select {
				case <-stop:
					return
				default:
				}
				_ = c.Stats()
				c.Flush()
			}
		}()
		if err := c.Close(); err != nil {
			t.Fatal(err)
		}
		close(stop)
		<-done
		if inFree.Load() != 1 {
			t.Fatal("free function did not run")
		}
		_ = c.Stats()
		c.Flush()
		if err := c.Close(); err != nil {
			t.Fatal(err)
		}
		if err := c.Barrier(context.Background()); err != nil {
			t.Fatal(err)
		}
		_ = NewPool[int](c)
		_ = p
		func() {
			defer func() {
				if r := recover(); r != "epoch: Enter on a closed Collector" {
					t.Fatalf("Enter after Close: %v", r)
				}
			}()
			c.Enter()
		}()
		func() {
			defer func() {
				if r := recover(); r != "epoch: Register on a closed Collector" {
					t.Fatalf("Register after Close: %v", r)
				}
			}()
			c.Register()
		}()
	}
}
