package refcount

// The sticky strong count (strong.go), from an independent review. The
// tests step the count's atomic operations one by one, so that every
// interleaving of the last release's add and mark with increments and
// other releases is played deterministically.

import (
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// ---------------------------------------------------------------------
// Exhaustive interleavings of the count protocol.

// stickyModel follows one value whose count the threads step through.
type stickyModel struct {
	t         *testing.T
	a         Arc[int]
	h         *header
	holders   int // references the threads hold (the model's truth)
	destroyed int // destructor runs
	failures  []string
}

func (m *stickyModel) failf(format string, args ...any) {
	m.failures = append(m.failures, fmt.Sprintf(format, args...))
}

// a step of a thread; it returns false when the thread is done.
type stickyThread struct {
	name  string
	steps []func(m *stickyModel) bool
	pc    int
	done  bool
	n     int64 // the count its release left
	held  bool
}

// releaser holds one reference from the start and releases it: the add,
// then (if it was not live) the mark.
func releaser(name string) *stickyThread {
	th := &stickyThread{name: name, held: true}
	th.steps = releaseSteps(th)
	return th
}

// releaseSteps are a release's two steps: the add, then (if the count it
// left is not live) the mark.
func releaseSteps(th *stickyThread) []func(m *stickyModel) bool {
	return []func(m *stickyModel) bool{
		func(m *stickyModel) bool {
			m.holders--
			th.held = false
			th.n = m.h.strong.Add(-1)
			return !liveCount(th.n)
		},
		func(m *stickyModel) bool { m.h.lastStrong(th.n); return false },
	}
}

// upgrader tries to take a reference as Weak.Upgrade does; if it got one
// it checks the value and releases it like releaser.
func upgrader(name string) *stickyThread {
	th := &stickyThread{name: name}
	th.steps = []func(m *stickyModel) bool{
		func(m *stickyModel) bool {
			if !m.h.incStrong() {
				return false
			}
			if m.destroyed > 0 {
				m.failf("%s upgraded after the destructor ran", name)
			}
			if m.a.in.value != 42 {
				m.failf("%s upgraded a zeroed value", name)
			}
			m.holders++
			th.held = true
			return true
		},
	}
	th.steps = append(th.steps, releaseSteps(th)...)
	return th
}

// interleave calls visit with every interleaving of the threads' steps
// (threads made fresh by mk for each).
func interleave(t *testing.T, mk func() []*stickyThread, visit func(m *stickyModel, trace []string)) {
	var rec func(prefix []int)
	count := 0
	rec = func(prefix []int) {
		// replay prefix, then branch
		threads := mk()
		m := newStickyModel(t, threads)
		var trace []string
		for _, i := range prefix {
			th := threads[i]
			trace = append(trace, fmt.Sprintf("%s#%d", th.name, th.pc))
			more := m.step(th)
			th.pc++
			if !more || th.pc == len(th.steps) {
				th.done = true
			}
		}
		any := false
		for i, th := range threads {
			if !th.done {
				any = true
				rec(append(append([]int(nil), prefix...), i))
			}
		}
		if !any {
			count++
			visit(m, trace)
		}
	}
	rec(nil)
	require.Positive(t, count)
	t.Logf("%d interleavings", count)
}

// step runs th's next step; a panic (a release past zero) is a failure.
func (m *stickyModel) step(th *stickyThread) (more bool) {
	defer func() {
		if r := recover(); r != nil {
			m.failf("%s step %d panicked: %.80v", th.name, th.pc, r)
			more = false
		}
	}()
	return th.steps[th.pc](m)
}

func newStickyModel(t *testing.T, threads []*stickyThread) *stickyModel {
	m := &stickyModel{t: t}
	held := 0
	for _, th := range threads {
		if th.held {
			held++
		}
	}
	m.a = NewArc(42, func(v *int) {
		m.destroyed++
		if m.holders != 0 {
			m.failf("destructor ran while %d references were held", m.holders)
		}
		if *v != 42 {
			m.failf("destructor found the value already zeroed")
		}
	})
	m.h = &m.a.in.header
	m.h.strong.Store(int64(held))
	m.holders = held
	return m
}

// Every interleaving of the last release(s) with upgrades: the destructor
// runs exactly once, only when no thread holds a reference, no upgrade
// succeeds after it, and afterwards the count is dead for good.
func TestStickyAllInterleavings(t *testing.T) {
	for _, tc := range []struct {
		name string
		mk   func() []*stickyThread
	}{
		{"release+upgrade", func() []*stickyThread { return []*stickyThread{releaser("R"), upgrader("U")} }},
		{"release+2upgrades", func() []*stickyThread {
			return []*stickyThread{releaser("R"), upgrader("U1"), upgrader("U2")}
		}},
		{"2releases+upgrade", func() []*stickyThread {
			return []*stickyThread{releaser("R1"), releaser("R2"), upgrader("U")}
		}},
		{"2releases+2upgrades", func() []*stickyThread {
			return []*stickyThread{releaser("R1"), releaser("R2"), upgrader("U1"), upgrader("U2")}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			interleave(t, tc.mk, func(m *stickyModel, trace []string) {
				if m.destroyed != 1 {
					m.failf("destructor ran %d times", m.destroyed)
				}
				if m.h.strongCount() != 0 {
					m.failf("StrongCount %d after every release", m.h.strongCount())
				}
				if m.h.incStrong() {
					m.failf("an increment succeeded after the destructor ran")
				}
				if m.h.strong.Load() < deadMin {
					m.failf("count %d is not marked dead", m.h.strong.Load())
				}
				if len(m.failures) > 0 {
					t.Fatalf("interleaving %v: %v", trace, m.failures)
				}
			})
		})
	}
}

// ---------------------------------------------------------------------
// Findings.

// A Weak's StrongCount that reads 0 is final: no Upgrade succeeds after
// it. The last release's add makes the count 0 before its mark, and an
// Upgrade in that window succeeds, so StrongCount reads an unmarked zero
// as 1 (the review found it reading 0: a cache that prunes entries whose
// count is 0, or an intern table that makes a fresh value once it sees the
// old one dead, would have been contradicted).
func TestStickyZeroStrongCountIsFinal(t *testing.T) {
	destroyed := 0
	a := NewArc(7, func(*int) { destroyed++ })
	w := a.Downgrade()
	defer w.Release()
	h := &a.in.header
	a = Arc[int]{}

	n := h.strong.Add(-1) // the last Release: its add; its mark is still to come
	sawZero := w.StrongCount() == 0
	u, ok := w.Upgrade() // another goroutine, after it saw 0 (synchronized)
	h.lastStrong(n)      // the Release's mark
	if ok {
		u.Release()
	}
	require.Equal(t, 1, destroyed)
	require.Truef(t, !sawZero || !ok,
		"Weak.StrongCount returned 0, then Upgrade succeeded (the count rose from 0 to 1)")
}

// A release past zero racing with the last release: the copy's release
// adds -1 after the last release's add (0) and before its mark, whose
// compare-and-swap from 0 then fails. The copy's release gives its count
// back, finds the unmarked zero, and marks and destroys the value before
// it panics, so the destructor runs once and no Weak upgrades the value
// afterwards (the review found the value left undestroyed).
func TestStickyPastZeroRacingLastReleaseDestroys(t *testing.T) {
	destroyed := 0
	a := NewArc(7, func(*int) { destroyed++ })
	w := a.Downgrade()
	defer w.Release()
	h := &a.in.header

	nLast := h.strong.Add(-1) // a.Release: add (0)
	nCopy := h.strong.Add(-1) // copy-of-a.Release: add (-1)
	h.lastStrong(nLast)       // a.Release: mark fails (count -1), returns
	msg := panicMsg(func() { h.lastStrong(nCopy) })
	require.Contains(t, msg, "past zero")

	afterBothReleases := destroyed
	u, ok := w.Upgrade()
	if ok {
		u.Release() // destroys it now, through a handle made after all were released
	}
	assert.Equal(t, 1, afterBothReleases, "the destructor did not run when the last handle was released")
	assert.False(t, ok, "a Weak upgraded a value whose handles were all released")
	require.Equal(t, 1, destroyed)
}

// The same race with a failed increment between: the Upgrade's add lands
// on the copy's -1 and fails, and is not given back (see strong.go), so the
// copy's release gives its count back to 1, not 0, and the last release's
// mark fails: the value is not destroyed (and a later Upgrade would
// succeed), a leak after a misuse that the panic reports. What stays
// promised: the release past zero panics, the Upgrade in the window fails,
// and the destructor runs at most once.
func TestStickyPastZeroAndFailedUpgradePanics(t *testing.T) {
	destroyed := 0
	a := NewArc(7, func(*int) { destroyed++ })
	w := a.Downgrade()
	defer w.Release()
	h := &a.in.header

	nLast := h.strong.Add(-1) // a.Release: add (0)
	nCopy := h.strong.Add(-1) // copy-of-a.Release: add (-1)
	_, ok := w.Upgrade()      // adds 1 to -1: 0, not live, fails
	require.False(t, ok)
	require.Contains(t, panicMsg(func() { h.lastStrong(nCopy) }), "past zero") // gives back: 1
	h.lastStrong(nLast)                                                        // mark fails
	require.LessOrEqual(t, destroyed, 1)
}

func panicMsg(f func()) (msg string) {
	defer func() {
		if r := recover(); r != nil {
			msg = fmt.Sprintf("%v", r)
		}
	}()
	f()
	return ""
}

// ---------------------------------------------------------------------
// Misuse detection keeps working on a destroyed (marked) count, however
// many failed increments and releases past zero pile on it.
func TestStickyMisuseOnDeadCount(t *testing.T) {
	destroyed := 0
	a := NewArc(7, func(*int) { destroyed++ })
	w := a.Downgrade()
	defer w.Release()
	stale := a
	a.Release()
	require.Equal(t, 1, destroyed)
	// Before any failed increment has raised the dead count: the release
	// past zero takes it from the mark to just below it.
	require.Contains(t, panicMsg(func() { c := stale; c.Release() }), "past zero")
	var s AtomicArc[int]
	for i := range 50 {
		require.Contains(t, panicMsg(func() { stale.Clone() }), "after zero", "Clone %d", i)
		require.Contains(t, panicMsg(func() { c := stale; c.Release() }), "past zero", "Release %d", i)
		require.Contains(t, panicMsg(func() { s.Store(stale) }), "after zero", "Store %d", i)
		_, ok := w.Upgrade()
		require.False(t, ok)
		require.Zero(t, w.StrongCount())
		require.Zero(t, stale.StrongCount())
	}
	require.Nil(t, s.p.Load())
	require.Equal(t, 1, destroyed)
	require.GreaterOrEqual(t, stale.in.strong.Load(), int64(destroyedCount), "the mark was lowered")
}

// ---------------------------------------------------------------------
// Load, Swap and a Guard against the slot reference's release, stepped.

// A Load that read the slot before a write swapped it out, and increments
// between the slot reference's release (its add) and its mark, returns
// the intact value, which it now holds alone; its release destroys it.
func TestStickyLoadBetweenSlotReleaseAndMark(t *testing.T) {
	destroyed := 0
	var s AtomicArc[int]
	s.Store(NewArc(5, func(*int) { destroyed++ }))
	in := s.p.Load() // Load: the read of the slot

	old := s.p.Swap(nil)    // a Store(zero Arc): its swap
	n := old.strong.Add(-1) // releaseSlotRef: the add (0)
	require.True(t, in.incStrong(), "Load's increment before the mark")
	got := Arc[int]{in: in}
	old.lastStrong(n) // the mark fails
	require.Zero(t, destroyed, "destroyed although Load took a reference before the mark")
	require.Equal(t, 5, *got.Value())
	require.Equal(t, 1, got.StrongCount())
	got.Release()
	require.Equal(t, 1, destroyed)
	require.False(t, in.incStrong(), "Load after the destructor")
	require.Nil(t, s.p.Load())
}

// While a Guard protects a replaced value the slot's reference stays
// counted: Guard.Clone always succeeds, StrongCount never reads 0, and
// racing Upgrades and Clones of the Guard's value never see it destroyed.
// After the Guard's release and Barrier, the value is destroyed once.
func TestStickyGuardRacesUpgrades(t *testing.T) {
	for range 20 {
		var destroyed atomic.Int32
		var s AtomicArc[int]
		a := NewArc(9, func(*int) { destroyed.Add(1) })
		w := a.Downgrade()
		s.Store(a)
		g := s.Borrow()
		s.Store(Arc[int]{}) // the slot reference is pending on g
		var wg sync.WaitGroup
		for range 2 {
			wg.Go(func() {
				for range 200 {
					if u, ok := w.Upgrade(); ok {
						if *u.Value() != 9 || destroyed.Load() != 0 {
							t.Error("upgraded a destroyed value")
						}
						u.Release()
					} else {
						t.Error("Upgrade failed while a Guard held the slot's reference")
					}
				}
			})
		}
		for range 200 {
			c := g.Clone()
			if *c.Value() != 9 || c.StrongCount() <= 0 {
				t.Errorf("Guard.Clone: value %d, StrongCount %d", *c.Value(), c.StrongCount())
			}
			c.Release()
		}
		wg.Wait()
		require.Zero(t, destroyed.Load())
		g.Release()
		require.NoError(t, Barrier(t.Context()))
		require.EqualValues(t, 1, destroyed.Load())
		_, ok := w.Upgrade()
		require.False(t, ok)
		w.Release()
	}
}

// Concurrent: a writer replaces values whose only reference is the slot's
// while readers Load and Upgrade them; the destructor asserts nothing holds
// the value (each reader announces its reference after the increment and
// before its release) and that it runs once.
func TestStickyLoadUpgradeVsWriterConcurrent(t *testing.T) {
	const values = 3000
	type val struct {
		id      int
		holders atomic.Int32
		runs    atomic.Int32
	}
	metas := make([]*val, values)
	var s AtomicArc[*val]
	var weaks [values]Weak[*val]
	var published atomic.Int64
	published.Store(-1)
	var stop atomic.Bool
	var wg sync.WaitGroup
	check := func(v *val, got **val) {
		if *got != v {
			t.Errorf("value %d: got a zeroed or foreign value", v.id)
		}
		if v.runs.Load() != 0 {
			t.Errorf("value %d: reference taken after its destructor ran", v.id)
		}
	}
	for r := range 2 {
		wg.Go(func() {
			for !stop.Load() {
				if r == 0 {
					a := s.Load()
					if p := a.Value(); p != nil {
						v := *p
						if v != nil {
							v.holders.Add(1)
							check(v, p)
							v.holders.Add(-1)
						}
					}
					a.Release()
				} else if i := published.Load(); i >= 0 {
					v := metas[i]
					if u, ok := weaks[i].Upgrade(); ok {
						v.holders.Add(1)
						check(v, u.Value())
						v.holders.Add(-1)
						u.Release()
					}
				}
				runtime.Gosched()
			}
		})
	}
	for i := range values {
		v := &val{id: i}
		metas[i] = v
		a := NewArc(v, func(p **val) {
			if n := v.runs.Add(1); n != 1 {
				t.Errorf("value %d destroyed %d times", v.id, n)
			}
			if h := v.holders.Load(); h != 0 {
				t.Errorf("value %d destroyed while %d readers held it", v.id, h)
			}
			if *p != v {
				t.Errorf("value %d zeroed before its destructor", v.id)
			}
		})
		weaks[i] = a.Downgrade()
		s.Store(a)
		published.Store(int64(i))
		if i%64 == 0 {
			runtime.Gosched()
		}
	}
	stop.Store(true)
	wg.Wait()
	s.Store(Arc[*val]{})
	require.NoError(t, Barrier(t.Context()))
	for i, v := range metas {
		require.EqualValues(t, 1, v.runs.Load(), "value %d", i)
		weaks[i].Release()
	}
}

// ---------------------------------------------------------------------
// Tracking.

//go:noinline
func destroyingRelease(a *Arc[int]) { a.Release() }

//go:noinline
func lateMark(h *header, n int64) { h.lastStrong(n) }

func stackHas(s stack, fn string) bool {
	frames := runtime.CallersFrames(s)
	for {
		f, more := frames.Next()
		if strings.HasSuffix(f.Function, "."+fn) {
			return true
		}
		if !more {
			return false
		}
	}
}

// With tracking, an Upgrade between the last release's add and its mark
// gets a record; the release that destroys the value is the one recorded
// as reaching zero (not the one whose mark failed), a later release of a
// copy names it, and no record is left.
func TestStickyTrackedResurrection(t *testing.T) {
	was := SetTracking(true)
	defer SetTracking(was)
	destroyed := 0
	a := NewArc(3, func(*int) { destroyed++ })
	w := a.Downgrade()
	h := &a.in.header
	obj := a.in.track

	// a.Release, split: its record ends, its add leaves 0.
	a.rec.end("Release")
	n := h.strong.Add(-1)
	a = Arc[int]{}

	u, ok := w.Upgrade()
	require.True(t, ok)
	copyU := u
	destroyingRelease(&u) // add 0, mark succeeds, destroys
	require.Equal(t, 1, destroyed)
	lateMark(h, n) // the first release's mark fails
	require.Equal(t, 1, destroyed)

	at := obj.zeroAt(false)
	require.True(t, stackHas(at, "destroyingRelease"), "zero stack is not the destroying release's")
	require.False(t, stackHas(at, "lateMark"), "zero stack is the failed mark's")
	msg := panicMsg(func() { copyU.Release() })
	require.Contains(t, msg, "already given up")
	_, ok = w.Upgrade()
	require.False(t, ok)
	w.Release()
	registry.mu.Lock()
	defer registry.mu.Unlock()
	for r := range registry.live {
		if r.obj == obj {
			t.Errorf("record left: %s made by %s", r.kind, r.made)
		}
	}
}

// The sticky count's one interleaving that a compare-and-swap loop never
// has, played step by step: an increment lands between the last release's
// add and its mark. The increment succeeds, the mark fails, the value is
// not destroyed, and the reference the increment took is the last one:
// its release destroys the value, once. From then on every increment
// fails and the count reads 0.
func TestIncrementBetweenLastReleaseAndMark(t *testing.T) {
	destroyed := 0
	a := NewArc(7, func(*int) { destroyed++ })
	h := &a.in.header

	n := h.strong.Add(-1) // the last Release's add...
	require.Zero(t, n)
	require.True(t, h.incStrong(), "an increment before the mark takes a reference")
	h.lastStrong(n) // ...and its mark, which fails
	require.Zero(t, destroyed, "the value was destroyed although a reference was taken before the mark")
	require.Equal(t, 1, h.strongCount())
	require.Equal(t, 7, a.in.value)

	h.releaseStrong() // the increment's reference, now the last
	require.Equal(t, 1, destroyed)
	require.Zero(t, h.strongCount())
	for range 3 {
		require.False(t, h.incStrong(), "an increment raised a destroyed value's count")
	}
	require.Zero(t, h.strongCount(), "failed increments are counted, but only in the dead range")
	require.Equal(t, 1, destroyed)
}

// liveCount draws the line where the comments say: 1 to deadMin-1.
func TestLiveCount(t *testing.T) {
	for n, live := range map[int64]bool{
		-1: false, 0: false, 1: true, deadMin - 1: true, deadMin: false,
		destroyedCount - 1: false, destroyedCount: false, destroyedCount + 1: false,
	} {
		require.Equal(t, live, liveCount(n), "liveCount(%d)", n)
	}
}
