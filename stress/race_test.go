package stress_test

import (
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/go-reclaim/reclaim/stress"
)

// Under -race a late read of a poisoned Canary is also a data race with
// the write that poisoned it, and the race detector reports it. A detected
// race fails the test it happens in, so the planted bug runs in a child
// process (stress.RunChild): this test binary again, running only
// TestRaceChild; under -cover, a copy built without coverage, whose atomic
// counters would order the two accesses and hide the race.
func TestRaceDetectorSeesUseAfterReclaim(t *testing.T) {
	if !stress.RaceEnabled {
		t.Skip("needs -race")
	}
	got := stress.RunChild(t, "TestRaceChild")
	require.True(t, got.Failed, "the child must fail:\n%s", got.Output)
	require.True(t, got.Raced, "the race detector must report the race:\n%s", got.Output)
	require.Contains(t, got.Output, "poison.(*Canary).Poison")
	require.Contains(t, got.Output, "poison.(*Canary).Poisoned")
	require.Equal(t, testing.CoverMode() != "", got.Rebuilt, "rebuilt without coverage exactly when coverage is on")
}

// pnode is a stack node with plain fields and a plain Canary.
type pnode struct {
	stress.Canary
	value int
	next  *pnode
}

// TestRaceChild runs a Treiber stack that reclaims popped nodes at once,
// without a grace period, so that readers race with the poisoning.
func TestRaceChild(t *testing.T) {
	if !stress.InChild() {
		t.Skip("run by TestRaceDetectorSeesUseAfterReclaim")
	}
	h := stress.New(t, stress.Ops(20_000))
	l := stress.NewLedger[pnode](h, nil)
	var head atomic.Pointer[pnode]
	h.Run(stress.StackMix(nil,
		func(_ *stress.Worker, v int) {
			n := &pnode{value: v}
			l.Alloc(n)
			for {
				n.next = head.Load()
				if head.CompareAndSwap(n.next, n) {
					return
				}
			}
		},
		func(w *stress.Worker) (int, bool) {
			for {
				top := head.Load()
				if top == nil {
					return 0, false
				}
				w.Yield()
				stress.CheckRead(w, top)
				if head.CompareAndSwap(top, top.next) {
					l.Retire(top)
					l.Reclaim(top) // the bug: no grace period
					return top.value, true
				}
			}
		}))
}
