package refcount_test

import (
	"testing"

	"github.com/go-reclaim/reclaim/refcount"
)

// kit is the API of one pair of strong and weak handle types, so that one
// test covers Arc/Weak and Rc/RcWeak alike.
type kit[H, W any] struct {
	name        string
	make        func(v int, destroy func(*int)) H
	clone       func(H) H
	release     func(*H)
	value       func(H) *int
	isZero      func(H) bool
	same        func(H, H) bool
	strongOf    func(H) int
	weakOf      func(H) int
	downgrade   func(H) W
	weakClone   func(W) W
	weakRelease func(*W)
	weakIsZero  func(W) bool
	upgrade     func(W) (H, bool)
	strongCount func(W) int
	weakCount   func(W) int
}

var arcKit = kit[refcount.Arc[int], refcount.Weak[int]]{
	name: "Arc", make: refcount.NewArc[int], clone: refcount.Arc[int].Clone, release: (*refcount.Arc[int]).Release,
	value: refcount.Arc[int].Value, isZero: refcount.Arc[int].IsZero, same: refcount.Arc[int].Same,
	strongOf: refcount.Arc[int].StrongCount, weakOf: refcount.Arc[int].WeakCount, downgrade: refcount.Arc[int].Downgrade,
	weakClone: refcount.Weak[int].Clone, weakRelease: (*refcount.Weak[int]).Release, weakIsZero: refcount.Weak[int].IsZero,
	upgrade: refcount.Weak[int].Upgrade, strongCount: refcount.Weak[int].StrongCount, weakCount: refcount.Weak[int].WeakCount,
}

var rcKit = kit[refcount.Rc[int], refcount.RcWeak[int]]{
	name: "Rc", make: refcount.NewRc[int], clone: refcount.Rc[int].Clone, release: (*refcount.Rc[int]).Release,
	value: refcount.Rc[int].Value, isZero: refcount.Rc[int].IsZero, same: refcount.Rc[int].Same,
	strongOf: refcount.Rc[int].StrongCount, weakOf: refcount.Rc[int].WeakCount, downgrade: refcount.Rc[int].Downgrade,
	weakClone: refcount.RcWeak[int].Clone, weakRelease: (*refcount.RcWeak[int]).Release, weakIsZero: refcount.RcWeak[int].IsZero,
	upgrade: refcount.RcWeak[int].Upgrade, strongCount: refcount.RcWeak[int].StrongCount, weakCount: refcount.RcWeak[int].WeakCount,
}

// eachKit runs test for Arc/Weak and for Rc/RcWeak, each untracked and
// tracked.
func eachKit(t *testing.T, arc func(*testing.T), rc func(*testing.T)) {
	t.Run("Arc", func(t *testing.T) { eachMode(t, arc) })
	t.Run("Rc", func(t *testing.T) { eachMode(t, rc) })
}
