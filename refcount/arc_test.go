package refcount_test

import (
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/go-reclaim/reclaim/refcount"
)

func TestArcDestructorSeesValueThenValueIsZeroed(t *testing.T) {
	type res struct{ fd int }
	var seen int
	a := refcount.NewArc(res{fd: 42}, func(r *res) { seen = r.fd })
	w := a.Downgrade()
	p := a.Value()
	a.Release()
	require.Equal(t, 42, seen)
	require.Zero(t, p.fd, "the value is zeroed after its destructor")
	w.Release()
}

func TestArcDestructorRunsOnReleasingGoroutine(t *testing.T) {
	var phase, ranAt int // written only by the goroutine that releases last
	a := refcount.NewArc(0, func(*int) { ranAt = phase })
	b := a.Clone()
	a.Release()
	var wg sync.WaitGroup
	wg.Go(func() {
		phase = 1
		b.Release()
		phase = 2
	})
	wg.Wait()
	require.Equal(t, 1, ranAt, "the destructor runs inside the last Release, on its goroutine")
}

// Goroutines clone and release handles of one value at once (a start
// gate makes them overlap): a lost update would destroy the value early,
// release past zero, or never destroy it.
func TestArcConcurrentCloneReleaseDestroysOnce(t *testing.T) {
	eachMode(t, func(t *testing.T) {
		rounds, iterations := 20, 2000
		if refcount.Tracking() {
			rounds, iterations = 5, 200 // each tracked operation takes a lock
		}
		for range rounds {
			var c counter
			a := refcount.NewArc(1, c.destroy)
			start := make(chan struct{})
			var wg sync.WaitGroup
			for range 4 {
				h := a.Clone()
				wg.Go(func() {
					<-start
					for range iterations {
						x := h.Clone()
						if c.destroyed() {
							t.Error("destroyed while a handle is live")
						}
						x.Release()
					}
					h.Release()
				})
			}
			close(start)
			a.Release()
			wg.Wait()
			require.EqualValues(t, 1, c.runs())
		}
	})
}

// Upgrade racing with the last Release either wins (and the value lives
// until that handle is released) or fails; it never returns a destroyed
// value, and the destructor runs once. One goroutine per processor holds a
// handle and keeps releasing it and upgrading again, so the count keeps
// dropping to 1 and reaches 0 while another goroutine is upgrading.
func TestWeakUpgradeRacesLastRelease(t *testing.T) {
	eachMode(t, func(t *testing.T) {
		rounds := 2000
		if refcount.Tracking() {
			rounds = 200
		}
		for range rounds {
			var c counter
			a := refcount.NewArc(1, c.destroy)
			start := make(chan struct{})
			var wg sync.WaitGroup
			for range runtime.GOMAXPROCS(0) {
				h, w := a.Clone(), a.Downgrade()
				wg.Go(func() {
					defer w.Release()
					<-start
					defer h.Release()
					for range 100_000 { // ends far sooner: once the count reaches 0
						h.Release()
						var ok bool
						if h, ok = w.Upgrade(); !ok {
							return
						}
						if c.destroyed() {
							t.Error("Upgrade returned a destroyed value")
							return
						}
					}
				})
			}
			a.Release()
			close(start)
			wg.Wait()
			require.EqualValues(t, 1, c.runs())
		}
	})
}

// A Clone through a copy of a released handle panics; racing with it, an
// Upgrade must still fail (issue 12, item 7). A Clone that incremented the
// count of a destroyed value from 0 to 1 before finding it destroyed let
// an Upgrade that saw the 1 succeed, and that handle's Release ran the
// destructor a second time.
func TestCloneAfterZeroDoesNotLetUpgradeSucceed(t *testing.T) {
	var c counter
	a := refcount.NewArc(1, c.destroy)
	w := a.Downgrade()
	defer w.Release()
	stale := a
	a.Release() // destroyed: stale is a copy of a released handle
	var stop atomic.Bool
	var upgraded atomic.Int64
	var wg sync.WaitGroup
	wg.Go(func() {
		for !stop.Load() {
			if s, ok := w.Upgrade(); ok {
				upgraded.Add(1)
				s.Release()
			}
		}
	})
	clones := 0
	for ; clones < 20_000 && upgraded.Load() == 0; clones++ {
		if msg := panicMessage(func() { stale.Clone() }); !strings.Contains(msg, "after zero") {
			t.Fatalf("Clone of a destroyed value: panic %q", msg)
		}
		runtime.Gosched()
	}
	stop.Store(true)
	wg.Wait()
	require.Zero(t, upgraded.Load(), "Upgrade succeeded on a destroyed value (after %d clones)", clones)
	require.EqualValues(t, 1, c.runs(), "the destructor ran again")
	require.Zero(t, w.StrongCount())
}
