package refcount_test

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// The tests of this file run for Arc/Weak and for Rc/RcWeak (see kit).

func TestDestructorRunsOnceAtLastRelease(t *testing.T) {
	eachKit(t, func(t *testing.T) { testDestructorRunsOnce(t, arcKit) }, func(t *testing.T) { testDestructorRunsOnce(t, rcKit) })
}

func testDestructorRunsOnce[H, W any](t *testing.T, k kit[H, W]) {
	var c counter
	a := k.make(7, c.destroy)
	b := k.clone(a)
	d := k.clone(b)
	require.Equal(t, 3, k.strongOf(a))
	require.True(t, k.same(a, d))
	k.release(&a)
	k.release(&b)
	require.Zero(t, c.runs(), "destroyed while a handle is live")
	require.Equal(t, 7, *k.value(d))
	k.release(&d)
	require.EqualValues(t, 1, c.runs())
	require.True(t, k.isZero(d), "Release zeroes the handle")
	k.release(&d) // a second Release of the same variable does nothing
	require.EqualValues(t, 1, c.runs())
}

func TestWeakUpgradeAndCounts(t *testing.T) {
	eachKit(t, func(t *testing.T) { testWeakUpgrade(t, arcKit) }, func(t *testing.T) { testWeakUpgrade(t, rcKit) })
}

func testWeakUpgrade[H, W any](t *testing.T, k kit[H, W]) {
	var c counter
	a := k.make(5, c.destroy)
	w := k.downgrade(a)
	w2 := k.weakClone(w)
	require.Equal(t, 2, k.weakOf(a))
	require.Equal(t, 1, k.strongCount(w))

	s, ok := k.upgrade(w)
	require.True(t, ok)
	require.Equal(t, 5, *k.value(s))
	require.Equal(t, 2, k.strongOf(a))
	k.release(&s)

	k.release(&a)
	require.EqualValues(t, 1, c.runs())
	s, ok = k.upgrade(w2)
	require.False(t, ok, "Upgrade after the last strong release")
	require.True(t, k.isZero(s))
	require.Zero(t, k.strongCount(w))
	require.Equal(t, 2, k.weakCount(w))
	k.weakRelease(&w)
	require.Equal(t, 1, k.weakCount(w2))
	k.weakRelease(&w2)
	require.True(t, k.weakIsZero(w2))
	require.EqualValues(t, 1, c.runs(), "releasing weak handles does not destroy again")
}

func TestZeroHandles(t *testing.T) {
	t.Run("Arc", func(t *testing.T) { testZeroHandles(t, arcKit) })
	t.Run("Rc", func(t *testing.T) { testZeroHandles(t, rcKit) })
}

func testZeroHandles[H, W any](t *testing.T, k kit[H, W]) {
	var a H
	require.True(t, k.isZero(a))
	require.Nil(t, k.value(a))
	require.Zero(t, k.strongOf(a))
	require.Zero(t, k.weakOf(a))
	require.True(t, k.isZero(k.clone(a)))
	require.True(t, k.weakIsZero(k.downgrade(a)))
	require.True(t, k.same(a, a))
	k.release(&a)

	var w W
	_, ok := k.upgrade(w)
	require.False(t, ok)
	require.True(t, k.weakIsZero(k.weakClone(w)))
	require.Zero(t, k.strongCount(w))
	require.Zero(t, k.weakCount(w))
	k.weakRelease(&w)

	n := k.make(1, nil) // a nil destructor: nothing to run
	k.release(&n)
}

// Untracked misuse: what the counts alone catch. Copies of a handle are
// made with plain assignment, which is the mistake.
func TestReleasePastZeroPanics(t *testing.T) {
	t.Run("Arc", func(t *testing.T) { testPastZero(t, arcKit) })
	t.Run("Rc", func(t *testing.T) { testPastZero(t, rcKit) })
}

func testPastZero[H, W any](t *testing.T, k kit[H, W]) {
	var c counter
	a := k.make(1, c.destroy)
	w := k.downgrade(a)
	copied, copied2 := a, a
	k.release(&a)
	msg := panicMessage(func() { k.release(&copied) })
	require.Contains(t, msg, "refcount: Release of "+k.name+"[int] past zero: its value was already destroyed")
	require.Contains(t, msg, "this release:")
	require.Contains(t, msg, "testPastZero")
	require.Contains(t, msg, "the release that reached zero:\n\t(not recorded")
	require.Contains(t, panicMessage(func() { k.clone(copied2) }), "refcount: Clone of "+k.name+"[int] after zero: its value was already destroyed")
	require.EqualValues(t, 1, c.runs(), "the destructor does not run again")
	require.Zero(t, k.strongCount(w), "the count is restored to zero")
	_, ok := k.upgrade(w)
	require.False(t, ok)

	wcopied, wcopied2 := w, w
	k.weakRelease(&w)
	weak := k.name + "Weak"
	if k.name == "Arc" {
		weak = "Weak"
	}
	require.Contains(t, panicMessage(func() { k.weakClone(wcopied2) }), "refcount: Clone of "+weak+"[int] after zero: every weak handle was already released")
	require.Contains(t, panicMessage(func() { k.weakRelease(&wcopied) }), "refcount: Release of "+weak+"[int] past zero: every weak handle was already released")
	require.Zero(t, k.weakCount(wcopied))
}
