package epoch_test

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

	"github.com/go-reclaim/reclaim/epoch"
	"github.com/go-reclaim/reclaim/internal/procs"
)

// lifeObj is one retired object of a lifecycle ledger: freed counts its free
// function's runs (Retire, Defer or OnReclaim).
type lifeObj struct {
	id    int
	freed atomic.Int32
}

// lifeLedger counts every object retired and every free, so that a test can
// check that each was freed exactly once, and none while a guard that
// loaded it was open.
type lifeLedger struct {
	objs    []*lifeObj
	srcs    []atomic.Pointer[lifeObj] // where each object is published
	kind    []int                     // 0 Retire, 1 Defer, 2 Pool
	doubles atomic.Int32
	freed   atomic.Int32
}

// awaitAllFreed waits up to 5 s, with no Flush or Barrier, for the aging
// timer to reclaim every object of l, and fails the test if it does not.
func (l *lifeLedger) awaitAllFreed(t *testing.T, c *epoch.Collector) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !l.allFreed() && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	require.True(t, l.allFreed(), "only %d of %d objects reclaimed 5 s after the last guard exited (pending %d)",
		l.freed.Load(), len(l.objs), c.Stats().Pending)
}

func newLifeLedger(n int) *lifeLedger {
	l := &lifeLedger{objs: make([]*lifeObj, n), srcs: make([]atomic.Pointer[lifeObj], n), kind: make([]int, n)}
	for i := range l.kind {
		l.kind[i] = i % 3
	}
	return l
}

func (l *lifeLedger) free(o *lifeObj) {
	if o.freed.Add(1) != 1 {
		l.doubles.Add(1)
	}
	l.freed.Add(1)
}

// publish puts every object in place: Retire's and Defer's are new(lifeObj),
// the Pool's come from pool.Get.
func (l *lifeLedger) publish(c *epoch.Collector, pool *epoch.Pool[lifeObj]) {
	g := c.Enter()
	for i := range l.objs {
		var o *lifeObj
		if l.kind[i] == 2 {
			o = pool.Get(g)
		} else {
			o = new(lifeObj)
		}
		o.id = i
		l.objs[i] = o
		l.srcs[i].Store(o)
	}
	g.Exit()
}

// unlink unlinks object i under g and retires it the way its kind says.
func (l *lifeLedger) unlink(g *epoch.Guard, pool *epoch.Pool[lifeObj], i int) {
	o := l.srcs[i].Swap(nil)
	if o == nil {
		panic("unlinked twice")
	}
	switch l.kind[i] {
	case 0:
		epoch.Retire(g, o, l.free)
	case 1:
		g.Defer(func() { l.free(o) })
	default:
		pool.Retire(g, o)
	}
}

func (l *lifeLedger) allFreed() bool { return int(l.freed.Load()) >= len(l.objs) }

func (l *lifeLedger) check(t *testing.T) {
	t.Helper()
	require.Zero(t, l.doubles.Load(), "an object was freed twice")
	for i, o := range l.objs {
		require.Equal(t, int32(1), o.freed.Load(), "object %d (kind %d) freed %d times", i, l.kind[i], o.freed.Load())
	}
}

// lifeReader is a guard that has loaded every object of the ledger and checks,
// until it is told to exit, that none of them is freed.
type lifeReader struct {
	loaded, exit, done chan struct{}
	violations         atomic.Int32
}

func startLifeReader(c *epoch.Collector, l *lifeLedger) *lifeReader {
	r := &lifeReader{loaded: make(chan struct{}), exit: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(r.done)
		g := c.Enter()
		seen := make([]*lifeObj, 0, len(l.objs))
		for i := range l.srcs {
			if o := epoch.Load(g, &l.srcs[i]); o != nil {
				seen = append(seen, o)
			}
		}
		close(r.loaded)
		for {
			for _, o := range seen {
				if o.freed.Load() != 0 {
					r.violations.Add(1)
				}
			}
			select {
			case <-r.exit:
				for _, o := range seen {
					if o.freed.Load() != 0 {
						r.violations.Add(1)
					}
				}
				g.Exit()
				return
			case <-time.After(time.Millisecond):
			}
		}
	}()
	<-r.loaded
	return r
}

func (r *lifeReader) stop(t *testing.T) {
	t.Helper()
	close(r.exit)
	<-r.done
	require.Zero(t, r.violations.Load(), "an object was freed while a guard that loaded it was open")
}

// lifeModes runs test in the classic and the robust mode.
func lifeModes(t *testing.T, test func(t *testing.T, mode []epoch.Option)) {
	t.Run("classic", func(t *testing.T) { test(t, nil) })
	t.Run("robust", func(t *testing.T) { test(t, []epoch.Option{epoch.WithRobust()}) })
}

func lifeOpts(mode []epoch.Option, more ...epoch.Option) []epoch.Option {
	return append(append([]epoch.Option(nil), mode...), more...)
}

// The package documentation promises that an object retired with no further
// activity is reclaimed a few batch ages after the last guard that could
// hold it exits, with no Barrier or Flush. The partial batches here sit on
// slots of goroutines that have exited, of Handles that were unregistered,
// and of processors that GOMAXPROCS has since taken away; a lifeReader that
// loaded every object holds them all back until it exits.
func TestAgingReclaimsOrphanedPartialBatches(t *testing.T) {
	lifeModes(t, func(t *testing.T, mode []epoch.Option) {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(4))
		c := epoch.New(lifeOpts(mode, epoch.WithMaxBatchAge(2*time.Millisecond), epoch.WithBatchSize(64))...)
		l := newLifeLedger(60)
		pool := epoch.NewPool(c, epoch.OnReclaim(l.free))
		l.publish(c, pool)
		r := startLifeReader(c, l)

		var wg sync.WaitGroup
		// Goroutines that retire a few objects each through pooled guards
		// (the home slots of up to 4 Ps) and exit.
		for w := range 10 {
			wg.Go(func() {
				g := c.Enter()
				for i := w * 3; i < w*3+3; i++ {
					l.unlink(g, pool, i)
				}
				g.Exit()
			})
		}
		// Handles that retire and unregister.
		for w := range 10 {
			wg.Go(func() {
				h := c.Register()
				g := h.Enter()
				for i := 30 + w*3; i < 30+w*3+3; i++ {
					l.unlink(g, pool, i)
				}
				g.Exit()
				h.Unregister()
			})
		}
		wg.Wait()
		runtime.GOMAXPROCS(1) // the Ps whose home slots hold batches go away

		time.Sleep(20 * time.Millisecond) // many ticks, all held back by the lifeReader
		require.False(t, l.allFreed())
		r.stop(t)
		l.awaitAllFreed(t, c)
		waitUntil(t, "Pending reaches 0", func() bool { return c.Stats().Pending == 0 })
		require.NoError(t, c.Close())
		l.check(t)
	})
}

// The same with GOMAXPROCS changing all along, retiring one object per
// goroutine, and the default maximum batch age.
func TestAgingUnderProcsFlip(t *testing.T) {
	lifeModes(t, func(t *testing.T, mode []epoch.Option) {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
		stop := procs.Flip(func() { time.Sleep(100 * time.Microsecond) })
		c := epoch.New(mode...)
		l := newLifeLedger(90)
		pool := epoch.NewPool(c, epoch.OnReclaim(l.free))
		l.publish(c, pool)
		r := startLifeReader(c, l)
		var wg sync.WaitGroup
		for i := range l.objs {
			wg.Go(func() {
				if i%2 == 0 {
					h := c.Register()
					g := h.Enter()
					l.unlink(g, pool, i)
					g.Exit()
					h.Unregister()
					return
				}
				g := c.Enter()
				l.unlink(g, pool, i)
				g.Exit()
			})
		}
		wg.Wait()
		r.stop(t)
		stop()
		runtime.GOMAXPROCS(1)
		l.awaitAllFreed(t, c)
		require.NoError(t, c.Close())
		l.check(t)
	})
}

// Flush with no guard open reclaims every object retired before it, from
// every slot (pooled ones of exited goroutines, unregistered Handles, a
// Handle still registered and idle); with a guard open it reclaims nothing
// that guard loaded, and a later Flush, once it has exited, the rest.
func TestFlushReclaimsEverythingWhenNoGuardIsOpen(t *testing.T) {
	lifeModes(t, func(t *testing.T, mode []epoch.Option) {
		c := epoch.New(lifeOpts(mode, epoch.WithMaxBatchAge(0), epoch.WithBatchSize(16))...)
		l := newLifeLedger(75)
		pool := epoch.NewPool(c, epoch.OnReclaim(l.free))
		l.publish(c, pool)
		kept := c.Register() // stays registered, idle
		var wg sync.WaitGroup
		for w := range 5 {
			wg.Go(func() {
				var g *epoch.Guard
				var h *epoch.Handle
				if w%2 == 0 {
					h = c.Register()
					g = h.Enter()
				} else {
					g = c.Enter()
				}
				for i := w * 10; i < w*10+10; i++ {
					l.unlink(g, pool, i)
				}
				g.Exit()
				if h != nil {
					h.Unregister()
				}
			})
		}
		wg.Wait()
		g := kept.Enter()
		for i := 50; i < 60; i++ {
			l.unlink(g, pool, i)
		}
		g.Exit()
		c.Flush()
		require.Equal(t, int32(60), l.freed.Load(), "Flush with no guard open left objects pending (pending %d)", c.Stats().Pending)
		require.Zero(t, c.Stats().Pending)

		r := startLifeReader(c, l) // loads 60..74
		wg.Go(func() {
			g := c.Enter()
			for i := 60; i < len(l.objs); i++ {
				l.unlink(g, pool, i)
			}
			g.Exit()
		})
		wg.Wait()
		for range 3 {
			c.Flush()
		}
		r.stop(t)
		c.Flush()
		require.True(t, l.allFreed(), "Flush after the last guard exited left %d objects", len(l.objs)-int(l.freed.Load()))
		require.Zero(t, c.Stats().Pending)
		kept.Unregister()
		require.NoError(t, c.Close())
		l.check(t)
	})
}

// Unregister with objects in the Handle's open batch neither loses nor
// frees them early: with aging off they wait for Flush, and the slot's
// next holder (another Handle or pooled guards) adds to the same batch.
// Every object is freed exactly once, and Close leaves none pending.
func TestUnregisterWithPendingObjects(t *testing.T) {
	lifeModes(t, func(t *testing.T, mode []epoch.Option) {
		c := epoch.New(lifeOpts(mode, epoch.WithMaxBatchAge(0), epoch.WithBatchSize(8))...)
		l := newLifeLedger(40)
		pool := epoch.NewPool(c, epoch.OnReclaim(l.free))
		l.publish(c, pool)
		r := startLifeReader(c, l)
		next := 0
		for range 10 {
			h := c.Register()
			g := h.Enter()
			for range 3 {
				l.unlink(g, pool, next)
				next++
			}
			g.Exit()
			h.Unregister()
			g = c.Enter()
			l.unlink(g, pool, next)
			next++
			g.Exit()
		}
		c.Flush()
		require.NoError(t, func() error {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Millisecond)
			defer cancel()
			if err := c.Barrier(ctx); err == nil {
				return fmt.Errorf("Barrier returned while the lifeReader is open")
			}
			return nil
		}())
		r.stop(t)
		st := c.Stats()
		require.Equal(t, uint64(40), st.Retired)
		c.Flush()
		require.True(t, l.allFreed(), "%d of 40 freed after the lifeReader exited and Flush", l.freed.Load())
		require.NoError(t, c.Close())
		l.check(t)
		require.Zero(t, c.Stats().Pending)
	})
}

func longGuard(c *epoch.Collector) *epoch.Guard { return c.Enter() }

func longHandleGuard(h *epoch.Handle) *epoch.Guard { return h.Enter() }

func churnGuard(c *epoch.Collector) *epoch.Guard { return c.Enter() }

// While other goroutines enter and exit guards (pooled, Handles, nested,
// Refresh) and retire, Stats never reports fewer guards than are held open
// for the whole time, and reports the oldest of them: with guard tracking
// its age is at least the time since it entered and its stack is the one
// that entered it; without, its age only grows from the first look.
func TestStatsOldestGuardUnderChurn(t *testing.T) {
	lifeModes(t, func(t *testing.T, mode []epoch.Option) {
		for _, tracking := range []bool{false, true} {
			t.Run(fmt.Sprintf("tracking=%v", tracking), func(t *testing.T) {
				opts := lifeOpts(mode, epoch.WithMaxBatchAge(time.Millisecond), epoch.WithBatchSize(4))
				if tracking {
					opts = append(opts, epoch.WithGuardTracking())
				}
				c := epoch.New(opts...)
				stop := make(chan struct{})
				var wg sync.WaitGroup
				for w := range 3 {
					wg.Go(func() {
						h := c.Register()
						defer h.Unregister()
						for i := 0; ; i++ {
							select {
							case <-stop:
								return
							default:
							}
							var g *epoch.Guard
							if w == 0 {
								g = h.Enter()
								inner := h.Enter()
								epoch.Retire(g, new(int), noop)
								inner.Exit()
							} else {
								g = churnGuard(c)
								epoch.Retire(g, new(int), noop)
							}
							if i%7 == 0 {
								c.Flush()
								g.Refresh()
							}
							g.Exit()
							if i%4 == 0 {
								runtime.Gosched()
							}
						}
					})
				}
				time.Sleep(2 * time.Millisecond)
				before := time.Now()
				long := longGuard(c)
				h := c.Register()
				long2 := longHandleGuard(h)
				entered := time.Now()
				first := c.Stats()
				firstLook := time.Now()
				require.GreaterOrEqual(t, first.Guards, 2)
				for i := range 100 {
					elapsedTracked := time.Since(entered)
					elapsedObserved := time.Since(firstLook)
					sinceBefore := time.Since(before)
					st := c.Stats()
					after := time.Since(before)
					require.GreaterOrEqual(t, st.Guards, 2, "Stats missed a guard held open throughout")
					if tracking {
						require.GreaterOrEqual(t, st.OldestGuardAge, elapsedTracked)
						if strings.Contains(st.OldestGuardStack, "longGuard") {
							require.LessOrEqual(t, st.OldestGuardAge, after, "older than the oldest guard")
						} else {
							// Only a churn guard entered before the long one (a
							// goroutine descheduled inside it) may be reported.
							require.Greater(t, st.OldestGuardAge, sinceBefore,
								"oldest guard's stack is a younger guard's:\n%s", st.OldestGuardStack)
						}
					} else {
						require.Empty(t, st.OldestGuardStack)
						require.GreaterOrEqual(t, st.OldestGuardAge, elapsedObserved, "the oldest guard's age is below the time since the first look")
					}
					if i%20 == 0 {
						time.Sleep(100 * time.Microsecond)
					}
					runtime.Gosched()
				}
				close(stop)
				wg.Wait()
				long.Exit()
				long2.Exit()
				h.Unregister()
				st := c.Stats()
				require.Zero(t, st.Guards)
				require.Zero(t, st.OldestGuardAge)
				require.Empty(t, st.OldestGuardStack)
				require.NoError(t, c.Close())
				st = c.Stats()
				require.Equal(t, st.Retired, st.Reclaimed)
			})
		}
	})
}

// Stats.Slots stays within its documented bound: at most the peak number
// of guards open at once plus Handles, plus twice GOMAXPROCS as it was at
// New, while GOMAXPROCS changes and goroutines come and go.
func TestStatsSlotsBound(t *testing.T) {
	lifeModes(t, func(t *testing.T, mode []epoch.Option) {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
		c := epoch.New(mode...)
		stop := procs.Flip(func() { time.Sleep(50 * time.Microsecond) })
		const open = 6
		sem := make(chan struct{}, open)
		var wg sync.WaitGroup
		for i := range 2000 {
			sem <- struct{}{}
			wg.Go(func() {
				defer func() { <-sem }()
				if i%5 == 0 {
					h := c.Register()
					h.Enter().Exit()
					h.Unregister()
					return
				}
				g := c.Enter()
				if i%3 == 0 {
					runtime.Gosched()
				}
				g.Exit()
			})
		}
		wg.Wait()
		stop()
		require.LessOrEqual(t, c.Stats().Slots, open+2*2)
		require.NoError(t, c.Close())
	})
}

// A Handle passed between goroutines through a channel keeps working, and
// what it retired is reclaimed (Barrier) exactly once.
func TestHandleHandedBetweenGoroutines(t *testing.T) {
	lifeModes(t, func(t *testing.T, mode []epoch.Option) {
		c := epoch.New(lifeOpts(mode, epoch.WithBatchSize(3))...)
		l := newLifeLedger(64)
		pool := epoch.NewPool(c, epoch.OnReclaim(l.free))
		l.publish(c, pool)
		ch := make(chan *epoch.Handle)
		var wg sync.WaitGroup
		var next atomic.Int32
		for range 4 {
			wg.Go(func() {
				for h := range ch {
					g := h.Enter()
					if i := int(next.Add(1)) - 1; i < len(l.objs) {
						l.unlink(g, pool, i)
					}
					g.Exit()
					if int(next.Load()) >= len(l.objs) {
						h.Unregister()
						close(ch)
						return
					}
					ch <- h
				}
			})
		}
		ch <- c.Register()
		wg.Wait()
		require.NoError(t, c.Barrier(context.Background()))
		require.True(t, l.allFreed())
		require.NoError(t, c.Close())
		l.check(t)
	})
}

// Default ages out partial batches too (it has the default options), and
// Pools and Handles on it work.
func TestDefaultAgesOut(t *testing.T) {
	c := epoch.Default()
	l := newLifeLedger(9)
	pool := epoch.NewPool(c, epoch.OnReclaim(l.free))
	l.publish(c, pool)
	h := c.Register()
	g := h.Enter()
	for i := range l.objs {
		l.unlink(g, pool, i)
	}
	g.Exit()
	h.Unregister()
	waitUntil(t, "Default's aging reclaims a partial batch", l.allFreed)
	l.check(t)
}

// Register's documentation says the open batch of a Handle dropped without
// Unregister "stays pending until a Barrier or Close collects it"; in fact
// the aging timer (and Flush) flush an idle Handle's slot too, so it ages
// out like any other. This pins the behaviour down (the documentation
// understates it).
func TestDroppedHandleBatchAgesOut(t *testing.T) {
	lifeModes(t, func(t *testing.T, mode []epoch.Option) {
		c := epoch.New(lifeOpts(mode, epoch.WithMaxBatchAge(time.Millisecond))...)
		l := newLifeLedger(12)
		pool := epoch.NewPool(c, epoch.OnReclaim(l.free))
		l.publish(c, pool)
		h := c.Register() // never unregistered
		g := h.Enter()
		for i := range l.objs {
			l.unlink(g, pool, i)
		}
		g.Exit()
		waitUntil(t, "a dropped Handle's open batch ages out", l.allFreed)
		require.NoError(t, c.Close())
		l.check(t)
	})
}

// With WithGuardTracking, Stats names the oldest guard's stack whenever it
// counts a guard, also when the only open guards entered after Stats read
// its clock (their age is zero, not negative, and they were skipped).
func TestStatsNamesAGuardWheneverItCountsOne(t *testing.T) {
	c := epoch.New(epoch.WithGuardTracking())
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				c.Enter().Exit()
			}
		}()
	}
	bad := 0
	for i := 0; i < 20000 && bad == 0; i++ {
		if st := c.Stats(); st.Guards > 0 && st.OldestGuardStack == "" {
			bad++
		}
	}
	close(stop)
	wg.Wait()
	require.Zero(t, bad, "Stats counted an open guard but named no stack")
	require.NoError(t, c.Close())
}
