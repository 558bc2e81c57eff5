package offheap

import (
	"errors"
	"math"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-reclaim/reclaim/epoch"
	"github.com/go-reclaim/reclaim/internal/race"
)

// Once a freed slot's grace period has ended and Stats says it is no longer
// pending, an Alloc must be able to take it: the doc promises ErrFull only
// "when every slot is live or still in its grace period". reclaim lowers
// the pending count (and an Arena's byte budget, through onReclaim) before
// the slot is back on the free list, so an Alloc that runs in that window
// (here: from the onReclaim hook, i.e. the moment another goroutine could
// run) fails with ErrFull although nothing is live or pending.
func TestAllocInReclaimWindowSlab(t *testing.T) {
	c := NewTestCollector(t)
	s, err := NewSlab[uint64](c, 1) // one slot: no per-P caches
	if err != nil {
		t.Fatal(err)
	}
	h, _, err := s.Alloc()
	if err != nil {
		t.Fatal(err)
	}
	var (
		st       Stats
		allocErr error
		ran      bool
		h2       Handle
	)
	s.p.onReclaim = func() {
		ran = true
		st = s.Stats()
		h2, _, allocErr = s.Alloc()
	}
	if err := FreeInGuard(c, s, h); err != nil {
		t.Fatal(err)
	}
	AwaitGrace(t, c)
	s.p.onReclaim = nil
	if !ran {
		t.Fatal("reclaim did not run")
	}
	if st.Live == 0 && st.Pending == 0 && allocErr != nil {
		t.Errorf("Stats %+v says no slot is live or pending, yet Alloc failed: %v", st, allocErr)
	}
	if allocErr == nil {
		if err := FreeInGuard(c, s, h2); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}

// The same window for an Arena: the budget is given back before the region
// is on its class's free list, so an Alloc that fits the budget fails with
// ErrFull ("Alloc fails with ErrFull when [the budget] would be exceeded").
func TestAllocInReclaimWindowArena(t *testing.T) {
	c := NewTestCollector(t)
	a, err := NewArena(c, 32, 16) // one class of two 16-byte regions
	if err != nil {
		t.Fatal(err)
	}
	r1, _, err := a.Alloc(16)
	if err != nil {
		t.Fatal(err)
	}
	r2, _, err := a.Alloc(16)
	if err != nil {
		t.Fatal(err)
	}
	p := a.classes[0]
	orig := p.onReclaim
	var (
		used     int64
		allocErr error
		ran      bool
		r3       Ref
	)
	p.onReclaim = func() {
		orig()
		ran = true
		used = a.Used()
		r3, _, allocErr = a.Alloc(16)
	}
	g := c.Enter()
	if err := a.Free(g, r1); err != nil {
		t.Fatal(err)
	}
	g.Exit()
	AwaitGrace(t, c)
	p.onReclaim = orig
	if !ran {
		t.Fatal("reclaim did not run")
	}
	if used+16 <= 32 && allocErr != nil {
		t.Errorf("Used() = %d of 32, yet Alloc(16) failed: %v", used, allocErr)
	}
	g = c.Enter()
	_ = a.Free(g, r2)
	if allocErr == nil {
		_ = a.Free(g, r3)
	}
	g.Exit()
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if a.Used() != 0 {
		t.Errorf("Used() = %d after freeing everything and Close", a.Used())
	}
}

// Generation limit on a slab large enough to have per-P caches: a slot
// freed at the limit must never go into a cache and be handed out again
// (its generation would wrap and old handles match again).
func TestGenerationLimitWithCaches(t *testing.T) {
	c := NewTestCollector(t)
	const capacity = 4096
	s, err := NewSlab[uint64](c, capacity)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.p.caches) == 0 {
		t.Skip("no per-P caches at this GOMAXPROCS")
	}
	// Put a few slots at the last live generation and free them, so that
	// their reclaim would push them into a cache.
	var old []Handle
	for range 8 {
		h, _, err := s.Alloc()
		if err != nil {
			t.Fatal(err)
		}
		s.p.meta(h.Index()).gen.Store(math.MaxUint32 - 2)
		old = append(old, makeHandle(h.Index(), math.MaxUint32-2))
	}
	for _, h := range old {
		if err := FreeInGuard(c, s, h); err != nil {
			t.Fatal(err)
		}
	}
	AwaitGrace(t, c)
	if st := s.Stats(); st.Dead != len(old) {
		t.Errorf("Stats %+v: want Dead %d", st, len(old))
	}
	dead := make(map[uint32]bool)
	for _, h := range old {
		dead[h.Index()] = true
	}
	var hs []Handle
	for {
		h, _, err := s.Alloc()
		if err != nil {
			if !errors.Is(err, ErrFull) {
				t.Fatal(err)
			}
			break
		}
		if dead[h.Index()] {
			t.Fatalf("slot %d at the generation limit was handed out again as %v", h.Index(), h)
		}
		if h.Generation()&1 != 1 {
			t.Fatalf("Alloc returned %v with an even generation", h)
		}
		hs = append(hs, h)
	}
	if len(hs) != capacity-len(old) {
		t.Errorf("refilled %d slots, want %d", len(hs), capacity-len(old))
	}
	for _, h := range old {
		g := c.Enter()
		if _, err := s.Get(g, h); !errors.Is(err, ErrStale) {
			t.Errorf("Get(%v) of a dead slot: %v, want ErrStale", h, err)
		}
		if err := s.Free(g, h); !errors.Is(err, ErrDoubleFree) {
			t.Errorf("Free(%v) of a dead slot: %v, want ErrDoubleFree", h, err)
		}
		g.Exit()
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}

type frRec struct {
	H    uint64
	Pad  [6]uint64
	Tail uint64
}

// Readers resolve a published handle under a guard and check, repeatedly
// and after yielding, that the value they got still holds that handle,
// while writers replace it (copy on write: Alloc, publish, Free old) as
// fast as they can through the per-P caches. A slot reused (zeroed and
// refilled) before the reader's guard exits is caught.
func TestNoReuseBeforeGuardExits(t *testing.T) {
	c := NewTestCollector(t)
	s, err := NewSlab[frRec](c, 1024)
	if err != nil {
		t.Fatal(err)
	}
	const cells = 8
	var pub [cells]atomic.Uint64
	for i := range pub {
		h, v, err := s.Alloc()
		if err != nil {
			t.Fatal(err)
		}
		v.H, v.Tail = uint64(h), uint64(h)
		pub[i].Store(uint64(h))
	}
	var stop atomic.Bool
	var bad atomic.Value
	var wg sync.WaitGroup
	for w := range 2 {
		wg.Go(func() {
			for i := 0; !stop.Load(); i++ {
				cell := &pub[(i*7+w)%cells]
				h, v, err := s.Alloc()
				if err != nil {
					if !errors.Is(err, ErrFull) {
						bad.CompareAndSwap(nil, err)
						return
					}
					runtime.Gosched()
					continue
				}
				v.H, v.Tail = uint64(h), uint64(h)
				old := Handle(cell.Swap(uint64(h)))
				if err := FreeInGuard(c, s, old); err != nil {
					bad.CompareAndSwap(nil, err)
					return
				}
			}
		})
	}
	for r := range 2 {
		wg.Go(func() {
			for i := 0; !stop.Load(); i++ {
				g := c.Enter()
				h := Handle(pub[(i+r)%cells].Load())
				v, err := s.Get(g, h)
				if err != nil {
					g.Exit()
					continue // freed meanwhile: fine
				}
				for k := range 3 {
					if v.H != uint64(h) || v.Tail != uint64(h) {
						bad.CompareAndSwap(nil, errors.New("value changed under an open guard: slot reused before its grace period ("+h.String()+")"))
						g.Exit()
						return
					}
					if k == 1 {
						runtime.Gosched()
					}
				}
				g.Exit()
			}
		})
	}
	time.Sleep(300 * time.Millisecond)
	stop.Store(true)
	wg.Wait()
	if err, _ := bad.Load().(error); err != nil {
		t.Fatal(err)
	}
	for i := range pub {
		if err := FreeInGuard(c, s, Handle(pub[i].Load())); err != nil {
			t.Fatal(err)
		}
	}
	AwaitGrace(t, c)
	if st := s.Stats(); st.Live != 0 || st.Pending != 0 {
		t.Errorf("after freeing everything: %+v", st)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}

// Close in checked mode while other goroutines are freeing under their
// guards: each Free either succeeds (and its slot is not reported) or
// fails with ErrClosed (and its slot is reported as leaked); the leak
// report lists exactly the slots not freed, and nothing crashes.
func TestCheckedCloseWithFreesInFlight(t *testing.T) {
	for round := range 20 {
		c := epoch.New()
		const n = 256
		s, err := NewSlab[uint64](c, n, WithChecks())
		if err != nil {
			t.Fatal(err)
		}
		hs := make([]Handle, n)
		for i := range hs {
			if hs[i], _, err = s.Alloc(); err != nil {
				t.Fatal(err)
			}
		}
		var freed [n]atomic.Bool
		var wg sync.WaitGroup
		var bad atomic.Value
		start := make(chan struct{})
		for w := range 2 {
			wg.Go(func() {
				<-start
				for i := w; i < n; i += 2 {
					g := c.Enter()
					err := s.Free(g, hs[i])
					g.Exit()
					switch {
					case err == nil:
						freed[i].Store(true)
					case errors.Is(err, ErrClosed):
					default:
						bad.CompareAndSwap(nil, err)
					}
				}
			})
		}
		close(start)
		if round%2 == 1 {
			runtime.Gosched()
		}
		cerr := s.Close()
		wg.Wait()
		if err, _ := bad.Load().(error); err != nil {
			t.Fatal(err)
		}
		want := 0
		for i := range freed {
			if !freed[i].Load() {
				want++
			}
		}
		var le *LeakError
		switch {
		case want == 0 && cerr != nil:
			t.Fatalf("round %d: Close: %v, want nil (everything freed)", round, cerr)
		case want > 0 && !errors.As(cerr, &le):
			t.Fatalf("round %d: Close: %v, want a LeakError of %d", round, cerr, want)
		case want > 0:
			if len(le.Leaks) != want {
				t.Fatalf("round %d: %d leaks reported, %d slots not freed", round, len(le.Leaks), want)
			}
			for _, l := range le.Leaks {
				if freed[l.Handle.Index()].Load() {
					t.Fatalf("round %d: %v reported as leaked but its Free succeeded", round, l.Handle)
				}
			}
		}
		if err := c.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// In checked mode, a use-after-free report for a slot that has NOT been
// reused must not claim that it was ("the slot has been reused since"),
// also when the Get runs right after a concurrent Free.
func TestCheckedReportWhileFreeing(t *testing.T) {
	c := NewTestCollector(t)
	s, err := NewSlab[uint64](c, 4096, WithChecks())
	if err != nil {
		t.Fatal(err)
	}
	iters := 3000
	if race.Enabled {
		iters = 2000
	}
	wrong := 0
	for range iters {
		h, _, err := s.Alloc()
		if err != nil {
			t.Fatal(err)
		}
		var gerr error
		var wg sync.WaitGroup
		ready := make(chan struct{})
		wg.Go(func() {
			g := c.Enter()
			defer g.Exit()
			close(ready)
			for {
				_, gerr = s.Get(g, h)
				if gerr != nil {
					return
				}
			}
		})
		<-ready
		if err := FreeInGuard(c, s, h); err != nil {
			t.Fatal(err)
		}
		wg.Wait()
		var me *MisuseError
		if !errors.As(gerr, &me) || !errors.Is(gerr, ErrStale) {
			t.Fatalf("Get after Free: %v", gerr)
		}
		if strings.Contains(me.Detail, "reused since") || me.FreedAt == "" {
			wrong++
		}
	}
	AwaitGrace(t, c)
	if wrong > 0 {
		t.Errorf("%d of %d use-after-free reports (slot not reused) lack the free's stack or say the slot was reused", wrong, iters)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}
