package refcount_test

// Tracking: the misuse reports of the weak
// handles and of Rc, where Find says each leaked handle was made, and no
// false report after the AtomicArc writes, RCU retries, Guard.Clone and
// failed Upgrades.

import (
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/go-reclaim/reclaim/refcount"
)

const testPkgPrefix = "github.com/go-reclaim/reclaim/refcount_test."

// Named steps, so that a report's stacks can be told apart by function.

//go:noinline
func stepDowngrade[H, W any](k kit[H, W], h H) W { return k.downgrade(h) }

//go:noinline
func stepWeakClone[H, W any](k kit[H, W], w W) W { return k.weakClone(w) }

//go:noinline
func stepWeakRelease[H, W any](k kit[H, W], w *W) { k.weakRelease(w) }

//go:noinline
func stepStrongClone[H, W any](k kit[H, W], h H) H { return k.clone(h) }

//go:noinline
func stepStrongRelease[H, W any](k kit[H, W], h *H) { k.release(h) }

// reportSections splits a "handle already given up" report into its
// sections, keyed by the line that opens each ("this Clone:", "where it
// was given up:", ...), and fails if the report does not start with want.
func reportSections(t *testing.T, msg, want string) map[string]string {
	t.Helper()
	require.True(t, strings.HasPrefix(msg, want), "report %q\ndoes not start with %q", msg, want)
	sections := map[string]string{}
	key := "head"
	for line := range strings.SplitSeq(msg, "\n") {
		if line != "" && !strings.HasPrefix(line, "\t") && strings.HasSuffix(line, ":") {
			key = line
			continue
		}
		sections[key] += line + "\n"
	}
	return sections
}

// With tracking, every use of a weak handle (and of an Rc) through a copy
// of a released one panics with a report that names the operation, the
// handle type and how it was given up, with this operation's stack, the
// release's, the one that took the count to zero and where it was made;
// and it leaves the counts alone. (Arc's strong handles are covered by
// TestTrackedUseOfGivenUpHandlePanics.)
func TestTrackedWeakMisuseNamesIt(t *testing.T) {
	t.Run("Arc", func(t *testing.T) { testTrackedWeakMisuse(t, arcKit, "Weak") })
	t.Run("Rc", func(t *testing.T) { testTrackedWeakMisuse(t, rcKit, "RcWeak") })
}

func testTrackedWeakMisuse[H, W any](t *testing.T, k kit[H, W], weakName string) {
	tracked(t)
	var c counter
	a := k.make(1, c.destroy)
	defer k.release(&a)

	weakOps := map[string]func(W){
		"Clone":   func(w W) { stepWeakClone(k, w) },
		"Upgrade": func(w W) { k.upgrade(w) },
		"Release": func(w W) { k.weakRelease(&w) },
	}
	for _, made := range []string{"Downgrade", "Clone"} {
		for op, use := range weakOps {
			t.Run(made+"/"+op, func(t *testing.T) {
				w := stepDowngrade(k, a)
				maker := "stepDowngrade"
				if made == "Clone" {
					w2 := stepWeakClone(k, w)
					k.weakRelease(&w)
					w, maker = w2, "stepWeakClone"
				}
				copied := w
				stepWeakRelease(k, &w) // the last weak handle: the weak count reaches zero here
				msg := panicMessage(func() { use(copied) })
				s := reportSections(t, msg, "refcount: "+op+" of "+weakName+"[int] handle already given up by Release\n")
				this := s["this "+op+":"]
				require.Contains(t, this, testPkgPrefix+"testTrackedWeakMisuse", msg)
				require.NotContains(t, this, "stepWeakRelease", msg)
				require.Contains(t, s["where it was given up:"], testPkgPrefix+"stepWeakRelease", msg)
				require.Contains(t, s["the release that took the weak count to zero:"], testPkgPrefix+"stepWeakRelease", msg)
				require.NotContains(t, msg, "strong count", "the value is alive: %s", msg)
				require.Contains(t, s["where the handle was made ("+made+"):"], testPkgPrefix+maker, msg)
				require.Zero(t, k.weakOf(a), "the misuse changed the weak count")
				require.Equal(t, 1, k.strongOf(a), "the misuse changed the strong count")
			})
		}
	}

	// A weak handle of a value that has been destroyed: the report still
	// gives the weak count's zero, not the strong one's.
	b := k.make(2, nil)
	w := stepDowngrade(k, b)
	k.release(&b)
	copied := w
	stepWeakRelease(k, &w)
	msg := panicMessage(func() { k.upgrade(copied) })
	s := reportSections(t, msg, "refcount: Upgrade of "+weakName+"[int] handle already given up by Release\n")
	require.Contains(t, s["the release that took the weak count to zero:"], testPkgPrefix+"stepWeakRelease", msg)
	require.Zero(t, c.runs())
}

// Rc's strong handles: every use through a copy of a released one is
// reported with the operation's name, even while other handles keep the
// count above zero (where the count alone cannot tell).
func TestTrackedRcMisuseNamesIt(t *testing.T) {
	tracked(t)
	k := rcKit
	var c counter
	a := k.make(1, c.destroy)
	ops := map[string]func(refcount.Rc[int]){
		"Clone":     func(r refcount.Rc[int]) { r.Clone() },
		"Value":     func(r refcount.Rc[int]) { r.Value() },
		"Downgrade": func(r refcount.Rc[int]) { r.Downgrade() },
		"Release":   func(r refcount.Rc[int]) { r.Release() },
	}
	for op, use := range ops {
		b := stepStrongClone(k, a)
		copied := b
		stepStrongRelease(k, &b)
		msg := panicMessage(func() { use(copied) })
		s := reportSections(t, msg, "refcount: "+op+" of Rc[int] handle already given up by Release\n")
		require.Contains(t, s["where it was given up:"], testPkgPrefix+"stepStrongRelease", msg)
		require.Contains(t, s["where the handle was made (Clone):"], testPkgPrefix+"stepStrongClone", msg)
		require.NotContains(t, msg, "count to zero", "the value is alive: %s", msg)
		require.Equal(t, 1, a.StrongCount(), "%s through a copy changed the count", op)
		require.Zero(t, a.WeakCount(), "%s through a copy changed the weak count", op)
	}
	k.release(&a)
	require.EqualValues(t, 1, c.runs())
}

// Two goroutines release copies of one tracked weak handle at once: one
// release counts, the other panics as a release of a handle already given
// up, whichever comes first; the weak count loses exactly one.
func TestTrackedConcurrentWeakDoubleRelease(t *testing.T) {
	tracked(t)
	a := refcount.NewArc(1, nil)
	defer a.Release()
	keep := a.Downgrade()
	defer keep.Release()
	for range 50 {
		w := a.Downgrade()
		copies := [2]refcount.Weak[int]{w, w}
		var msgs [2]string
		var wg sync.WaitGroup
		for i := range copies {
			wg.Go(func() { msgs[i] = panicMessage(func() { copies[i].Release() }) })
		}
		wg.Wait()
		require.Equal(t, 1, a.WeakCount())
		panicked := 0
		for _, msg := range msgs {
			if msg != "" {
				panicked++
				require.True(t, strings.HasPrefix(msg, "refcount: Release of Weak[int] handle already given up by Release\n"), msg)
			}
		}
		require.Equal(t, 1, panicked, "%q", msgs)
	}
}

// makeEveryHandle makes one live tracked handle of each way there is
// to make one, and returns a function that releases them all.
//
//go:noinline
func makeEveryHandle(s *refcount.AtomicArc[int]) (release func()) {
	a := refcount.NewArc(1, nil)
	w := a.Downgrade()
	wc := w.Clone()
	up, _ := w.Upgrade()
	s.Store(a.Clone())
	g := s.Borrow()
	gc := g.Clone()
	g.Release()
	swapped := s.Swap(a.Clone())
	loaded := s.Load()
	rcuOld := s.RCU(func(*int) refcount.Arc[int] { return a.Clone() })
	r := refcount.NewRc(2, nil)
	rw := r.Downgrade()
	rwc := rw.Clone()
	ru, _ := rw.Upgrade()
	rc := r.Clone()
	return func() {
		for _, h := range []*refcount.Arc[int]{&a, &up, &gc, &swapped, &loaded, &rcuOld} {
			h.Release()
		}
		w.Release()
		wc.Release()
		for _, h := range []*refcount.Rc[int]{&r, &ru, &rc} {
			h.Release()
		}
		rw.Release()
		rwc.Release()
		s.Store(refcount.Arc[int]{})
	}
}

// Find lists every live tracked handle, each under the operation that made
// it and with the stack of its maker, whichever way it was made.
func TestTrackedFindNamesEveryMaker(t *testing.T) {
	tracked(t)
	var s refcount.AtomicArc[int]
	release := makeEveryHandle(&s)
	err := refcount.Find()
	require.Error(t, err)
	msg := err.Error()
	made := []string{
		"Arc[int] made by NewArc",
		"Weak[int] made by Downgrade",
		"Weak[int] made by Clone",
		"Arc[int] made by Upgrade",
		"Arc[int] made by Guard.Clone",
		"Arc[int] made by AtomicArc.Swap",
		"Arc[int] made by AtomicArc.Load",
		"Arc[int] made by AtomicArc.RCU",
		"Arc[int] made by Clone", // the one RCU stored
		"Rc[int] made by NewRc",
		"RcWeak[int] made by Downgrade",
		"RcWeak[int] made by Clone",
		"Rc[int] made by Upgrade",
		"Rc[int] made by Clone",
	}
	require.True(t, strings.HasPrefix(msg, fmt.Sprintf("refcount: %d tracked handle(s) still live:\n", len(made))), msg)
	for _, m := range made {
		require.Contains(t, msg, "\n"+m+" at:\n\t"+testPkgPrefix+"makeEveryHandle", m)
	}
	require.Equal(t, 1, strings.Count(msg, "held since by an AtomicArc"), msg)
	release()
	require.NoError(t, refcount.Find())
	barrier(t)
}

// No false leak: after every handle is given up, through every kind of
// write and with failed Upgrades, failed CompareAndSwaps and RCU retries
// on the way, Find lists exactly the handles still live at each point.
func TestTrackedNoFalseLeaks(t *testing.T) {
	var cu counter
	u := refcount.NewArc(100, cu.destroy) // made before tracking: untracked
	tracked(t)
	live := func(n int) {
		t.Helper()
		err := refcount.Find()
		if n == 0 {
			require.NoError(t, err)
			return
		}
		require.Error(t, err)
		require.True(t, strings.HasPrefix(err.Error(), fmt.Sprintf("refcount: %d tracked handle(s) still live:\n", n)), err.Error())
	}

	// Failed Upgrades of a destroyed value make no handle.
	var cz counter
	z := refcount.NewArc(1, cz.destroy)
	wz := z.Downgrade()
	z.Release()
	r := refcount.NewRc(1, nil)
	rw := r.Downgrade()
	r.Release()
	for range 3 {
		_, ok := wz.Upgrade()
		require.False(t, ok)
		_, ok = rw.Upgrade()
		require.False(t, ok)
	}
	live(2) // wz, rw
	wz.Release()
	rw.Release()
	live(0)

	var cx, cy counter
	x, y := refcount.NewArc(1, cx.destroy), refcount.NewArc(2, cy.destroy)
	wx := x.Downgrade()
	var s, s2 refcount.AtomicArc[int]
	s.Store(x.Clone())
	live(4) // x, y, wx, s's reference
	require.False(t, s.CompareAndSwap(y, x.Clone()))
	require.False(t, s.CompareAndSwap(y, u.Clone()))
	live(4)
	require.True(t, s.CompareAndSwap(x, x.Clone())) // the same value again
	live(4)
	require.True(t, s.CompareAndSwap(x, u.Clone())) // an untracked value replaces it
	live(3)
	old := s.Swap(y.Clone())
	require.True(t, old.Same(u))
	old.Release()
	live(4)
	old = s.Swap(u.Clone())
	require.True(t, old.Same(y))
	live(4) // old replaced s's reference
	old.Release()
	live(3)

	// A Guard's Clone moved into another AtomicArc.
	s.Store(x.Clone())
	g := s.Borrow()
	s2.Store(g.Clone())
	live(6) // x, y, wx, s's and s2's references, g
	g.Release()
	s.Store(refcount.Arc[int]{})
	live(4)

	// An RCU whose first attempt fails: the Arc it returned and the value
	// it loaded are released, and only the stored one is held.
	first := true
	old = s2.RCU(func(*int) refcount.Arc[int] {
		if first {
			first = false
			s2.Store(y.Clone())
			return x.Clone()
		}
		return y.Clone()
	})
	require.True(t, old.Same(y))
	live(5) // x, y, wx, s2's reference, old
	old.Release()
	wup, ok := wx.Upgrade()
	require.True(t, ok)
	s2.Store(wup)
	live(4)
	s2.Store(refcount.Arc[int]{})
	live(3)
	barrier(t)

	x.Release()
	y.Release()
	u.Release()
	_, ok = wx.Upgrade()
	require.False(t, ok)
	wx.Release()
	live(0)
	for name, c := range map[string]*counter{"x": &cx, "y": &cy, "z": &cz, "u": &cu} {
		require.EqualValues(t, 1, c.runs(), name)
	}
}

// Tracking follows the value, not the setting at the time of the call: the
// handles of a value made while tracking was on stay tracked after it is
// turned off, and those of one made while it was off are never tracked.
func TestTrackingFollowsTheValue(t *testing.T) {
	tracked(t)
	a := refcount.NewArc(1, nil)
	r := refcount.NewRc(1, nil)
	refcount.SetTracking(false)
	b := refcount.NewArc(2, nil)
	w := a.Downgrade()
	up, _ := w.Upgrade()
	rw := r.Downgrade()
	bw := b.Downgrade()
	bup, _ := bw.Upgrade()
	err := refcount.Find()
	require.Error(t, err)
	require.True(t, strings.HasPrefix(err.Error(), "refcount: 5 tracked handle(s) still live:\n"), err.Error())
	require.Contains(t, err.Error(), "Weak[int] made by Downgrade")
	require.Contains(t, err.Error(), "Arc[int] made by Upgrade")
	require.Contains(t, err.Error(), "RcWeak[int] made by Downgrade")

	copied := w
	w.Release()
	require.Contains(t, panicMessage(func() { copied.Clone() }), "refcount: Clone of Weak[int] handle already given up by Release")
	for _, h := range []*refcount.Arc[int]{&a, &up, &b, &bup} {
		h.Release()
	}
	bw.Release()
	rw.Release()
	r.Release()
	require.NoError(t, refcount.Find())
}

// Tracking reports name RCU, not the CompareAndSwap inside it: where the
// Arc it stored went, and how a failed attempt's Arc was given up.
func TestTrackedRCUNamesItself(t *testing.T) {
	tracked(t)
	var s refcount.AtomicArc[int]
	a := refcount.NewArc(1, nil)
	b := refcount.NewArc(2, nil)
	s.Store(a.Clone())
	first := true
	var failed refcount.Arc[int]
	old := s.RCU(func(*int) refcount.Arc[int] {
		n := a.Clone()
		if first { // another write gets in: this attempt fails
			first = false
			failed = n
			s.Store(b.Clone())
		}
		return n
	})
	err := refcount.Find()
	require.Error(t, err)
	require.Contains(t, err.Error(), "held since by an AtomicArc (RCU)")
	require.NotContains(t, err.Error(), "CompareAndSwap")
	msg := panicMessage(func() { failed.Clone() })
	require.Contains(t, msg, "given up by RCU (failed, released)")
	old.Release()
	a.Release()
	b.Release()
	s.Store(refcount.Arc[int]{})
	require.NoError(t, refcount.Find())
	barrier(t)
}
