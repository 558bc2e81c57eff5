//go:build race

package stress_test

import (
	"os"
	"os/exec"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/go-reclaim/reclaim/stress"
)

const raceChildEnv = "STRESS_RACE_CHILD"

// Under -race a late read of a poisoned Canary is also a data race with
// the write that poisoned it, and the race detector reports it. A detected
// race fails the test it happens in, so the planted bug runs in a child
// process: this test binary again, running only TestRaceChild.
func TestRaceDetectorSeesUseAfterReclaim(t *testing.T) {
	cmd := exec.Command(os.Args[0], "-test.run=^TestRaceChild$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), raceChildEnv+"=1")
	out, err := cmd.CombinedOutput()
	require.Error(t, err, "the child must fail:\n%s", out)
	require.Contains(t, string(out), "WARNING: DATA RACE")
	require.Contains(t, string(out), "stress.(*Canary).Poison")
	require.Contains(t, string(out), "stress.(*Canary).Poisoned")
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
	if os.Getenv(raceChildEnv) == "" {
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
