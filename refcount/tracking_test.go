package refcount_test

import (
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/go-reclaim/reclaim/refcount"
)

// The releases of these tests go through named functions, so that a
// panic's stacks can be told apart by function name.

//go:noinline
func firstRelease(a *refcount.Arc[int]) { a.Release() }

//go:noinline
func secondRelease(a *refcount.Arc[int]) { a.Release() }

//go:noinline
func makeClone(a refcount.Arc[int]) refcount.Arc[int] { return a.Clone() }

// A release past zero through a copy reports this release, the earlier
// release of the same handle, and the release that reached zero.
func TestTrackedReleasePastZeroHasBothStacks(t *testing.T) {
	tracked(t)
	a := refcount.NewArc(1, nil)
	copied := a
	firstRelease(&a)
	msg := panicMessage(func() { secondRelease(&copied) })
	require.True(t, strings.HasPrefix(msg, "refcount: Release of Arc[int] handle already given up by Release"), msg)
	this, rest, ok := strings.Cut(msg, "where it was given up:")
	require.True(t, ok, msg)
	require.Contains(t, this, "secondRelease")
	require.NotContains(t, this, "firstRelease")
	given, rest, ok := strings.Cut(rest, "the release that took the strong count to zero:")
	require.True(t, ok, msg)
	require.Contains(t, given, "firstRelease")
	zero, made, ok := strings.Cut(rest, "where the handle was made (NewArc):")
	require.True(t, ok, msg)
	require.Contains(t, zero, "firstRelease")
	require.Contains(t, made, "TestTrackedReleasePastZeroHasBothStacks")
}

// With tracking, releasing a copy is caught even while other handles keep
// the count above zero.
func TestTrackedDoubleReleaseBeforeZero(t *testing.T) {
	tracked(t)
	var c counter
	a := refcount.NewArc(1, c.destroy)
	b := makeClone(a)
	copied := b
	firstRelease(&b)
	msg := panicMessage(func() { secondRelease(&copied) })
	require.Contains(t, msg, "refcount: Release of Arc[int] handle already given up by Release")
	require.Contains(t, msg, "where the handle was made (Clone):\n\tgithub.com/go-reclaim/reclaim/refcount_test.makeClone")
	require.NotContains(t, msg, "strong count to zero", "the value is alive")
	require.Equal(t, 1, a.StrongCount(), "the count is untouched")
	a.Release()
	require.EqualValues(t, 1, c.runs())
}

func TestTrackedUseOfGivenUpHandlePanics(t *testing.T) {
	tracked(t)
	a := refcount.NewArc(1, nil)
	defer a.Release()

	b := a.Clone()
	copied := b
	b.Release()
	for op, f := range map[string]func(){
		"Value":     func() { copied.Value() },
		"Clone":     func() { copied.Clone() },
		"Downgrade": func() { copied.Downgrade() },
	} {
		require.Contains(t, panicMessage(f), "refcount: "+op+" of Arc[int] handle already given up by Release", op)
	}

	var s refcount.AtomicArc[int]
	moved := a.Clone()
	s.Store(moved)
	msg := panicMessage(func() { moved.Release() })
	require.Contains(t, msg, "refcount: Release of Arc[int] handle already given up by moving it into an AtomicArc with Store")
	s.Store(refcount.Arc[int]{})
	barrier(t)

	w := a.Downgrade()
	wc := w
	w.Release()
	require.Contains(t, panicMessage(func() { wc.Upgrade() }), "refcount: Upgrade of Weak[int] handle already given up by Release")

	r := refcount.NewRc(1, nil)
	rc := r
	r.Release()
	require.Contains(t, panicMessage(func() { rc.Release() }), "refcount: Release of Rc[int] handle already given up by Release")
}

// makeLeaks makes one live handle of every kind and returns a function
// that releases them all.
func makeLeaks() (release func()) {
	a := refcount.NewArc(1, nil)
	w := a.Downgrade()
	var s refcount.AtomicArc[int]
	s.Store(a.Clone())
	loaded := s.Load()
	g := s.Borrow()
	r := refcount.NewRc(2, nil)
	rw := r.Downgrade()
	return func() {
		a.Release()
		w.Release()
		loaded.Release()
		g.Release()
		r.Release()
		rw.Release()
		s.Store(refcount.Arc[int]{})
	}
}

func TestFindListsLiveHandlesWithTheirStacks(t *testing.T) {
	tracked(t)
	release := makeLeaks()
	err := refcount.Find()
	require.Error(t, err)
	msg := err.Error()
	require.True(t, strings.HasPrefix(msg, "refcount: 7 tracked handle(s) still live:\n"), msg)
	for _, want := range []string{
		"Arc[int] made by NewArc at:\n\tgithub.com/go-reclaim/reclaim/refcount_test.makeLeaks",
		"Weak[int] made by Downgrade at:",
		"Arc[int] made by Clone at:",
		"held since by an AtomicArc (Store) at:\n\tgithub.com/go-reclaim/reclaim/refcount_test.makeLeaks",
		"Arc[int] made by AtomicArc.Load at:",
		"Guard[int] made by AtomicArc.Borrow at:",
		"Rc[int] made by NewRc at:",
		"RcWeak[int] made by Downgrade at:",
	} {
		require.Contains(t, msg, want)
	}
	require.Less(t, strings.Index(msg, "made by NewArc"), strings.Index(msg, "made by NewRc"), "oldest first")

	var ft fakeT
	refcount.VerifyNone(&ft)
	require.Contains(t, ft.errors, "refcount: 7 tracked handle(s) still live")

	release()
	require.NoError(t, refcount.Find())
	ft = fakeT{}
	refcount.VerifyNone(&ft)
	require.Empty(t, ft.errors)
	barrier(t)
}

// Handles of values made while tracking is off are never listed.
func TestFindIgnoresUntrackedValues(t *testing.T) {
	a := refcount.NewArc(1, nil)
	tracked(t)
	b := a.Clone()
	require.NoError(t, refcount.Find())
	b.Release()
	a.Release()
}

// The references an AtomicArc holds are tracked across Store, Swap and
// CompareAndSwap; a failed CompareAndSwap leaves no record behind.
func TestTrackedAtomicArcReferences(t *testing.T) {
	tracked(t)
	var s refcount.AtomicArc[int]
	a := refcount.NewArc(1, nil)
	s.Store(a.Clone())
	old := s.Swap(a.Clone())
	require.False(t, s.CompareAndSwap(refcount.Arc[int]{}, a.Clone()))
	require.True(t, s.CompareAndSwap(old, a.Clone()))
	err := refcount.Find()
	require.Error(t, err)
	require.Contains(t, err.Error(), "refcount: 3 tracked handle(s) still live:")
	require.Contains(t, err.Error(), "held since by an AtomicArc (CompareAndSwap)")
	old.Release()
	a.Release()
	s.Store(refcount.Arc[int]{})
	barrier(t)
}

// Writers Store, Swap and CompareAndSwap handles of the same two tracked
// values, and of an untracked one, into one AtomicArc at once (issue 12,
// item 6): the records of the slot's references must follow the
// references actually published, so no write gives up a reference "it was
// not recorded to hold" (a panic), and afterwards exactly one record
// stands for the slot's reference if it holds a tracked value. A failed
// CompareAndSwap must end its own record, never a published one.
func TestTrackedConcurrentWritesOfOneValue(t *testing.T) {
	var cx, cy, cu counter
	u := refcount.NewArc(3, cu.destroy) // made before tracking: untracked
	tracked(t)
	x, y := refcount.NewArc(1, cx.destroy), refcount.NewArc(2, cy.destroy)
	var s refcount.AtomicArc[int]
	s.Store(x.Clone())
	ops := []func(){
		func() { s.Store(x.Clone()) },
		func() { s.Store(y.Clone()) },
		func() { s.CompareAndSwap(x, x.Clone()) },
		func() { s.CompareAndSwap(y, x.Clone()) },
		func() { s.CompareAndSwap(x, y.Clone()) },
		func() {
			old := s.Swap(x.Clone())
			old.Release()
		},
		func() { s.Store(u.Clone()) },
		func() { s.CompareAndSwap(x, u.Clone()) },
		func() { s.CompareAndSwap(u, x.Clone()) },
	}
	start := make(chan struct{})
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			defer func() {
				if r := recover(); r != nil {
					t.Errorf("writer %d panicked: %v", g, r)
				}
			}()
			rng := rand.New(rand.NewPCG(uint64(g), 12))
			<-start
			for range 3000 {
				ops[rng.IntN(len(ops))]()
			}
		})
	}
	close(start)
	wg.Wait()
	if t.Failed() {
		return // a writer panicked: the records are inconsistent
	}
	held := s.Load()
	slotRefs := 1
	if held.Same(u) {
		slotRefs = 0
	}
	held.Release()
	err := refcount.Find()
	require.Error(t, err)
	require.Contains(t, err.Error(), fmt.Sprintf("refcount: %d tracked handle(s) still live:", 2+slotRefs), "x, y and the slot's reference")
	require.Equal(t, slotRefs, strings.Count(err.Error(), "held since by an AtomicArc"))
	s.Store(refcount.Arc[int]{})
	barrier(t)
	x.Release()
	y.Release()
	u.Release()
	require.EqualValues(t, 1, cx.runs())
	require.EqualValues(t, 1, cy.runs())
	require.EqualValues(t, 1, cu.runs())
}

type fakeT struct{ errors string }

func (f *fakeT) Helper()           {}
func (f *fakeT) Error(args ...any) { f.errors += fmt.Sprint(args...) }

type fakeM struct{ run func() int }

func (m fakeM) Run() int { return m.run() }

const verifyChildEnv = "REFCOUNT_VERIFY_TEST_MAIN_CHILD"

// VerifyTestMain exits non-zero, listing the leak, when tests pass but
// leave a tracked handle live; it runs in a subprocess because it exits.
func TestVerifyTestMain(t *testing.T) {
	for _, mode := range []string{"leak", "clean"} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestVerifyTestMainChild$", "-test.count=1")
		cmd.Env = append(os.Environ(), verifyChildEnv+"="+mode)
		out, err := cmd.CombinedOutput()
		if mode == "clean" {
			require.NoError(t, err, "%s", out)
			continue
		}
		require.Error(t, err)
		require.Contains(t, string(out), "refcount: 1 tracked handle(s) still live")
		require.Contains(t, string(out), "TestVerifyTestMainChild")
	}
}

func TestVerifyTestMainChild(t *testing.T) {
	mode := os.Getenv(verifyChildEnv)
	if mode == "" {
		t.Skip("run by TestVerifyTestMain")
	}
	refcount.VerifyTestMain(fakeM{run: func() int {
		a := refcount.NewArc(1, nil)
		if mode == "clean" {
			a.Release()
		}
		return 0
	}})
}
