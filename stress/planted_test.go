package stress_test

import (
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/go-reclaim/reclaim/stress"
)

// The harness is only worth something if it fails on real bugs. Each test
// here plants one bug in tstack, runs the harness on it inside
// stress.Capture (a testing.TB that records failures), and requires that the
// harness reported it, with the right diagnosis, within catchWithin on this
// 2-core machine under -race. The controls run the same code without the
// bug and require silence, so the reports are about the bug, not noise.

const (
	catchWithin = 20 * time.Second
	// searchFor is how long a planted test keeps starting new rounds.
	searchFor = 15 * time.Second
)

// hunt runs rounds of the harness on fresh stacks until it reports a
// failure or searchFor passes, as a soak of a buggy container would.
func hunt(tb testing.TB, newStack func(*stress.Harness) *tstack, history bool, opts ...stress.Option) {
	h := stress.New(tb, append([]stress.Option{stress.Ops(4000)}, opts...)...)
	var hist *stress.History
	if history {
		hist = stress.NewHistory(h, stress.StackModel())
	}
	for end := time.Now().Add(searchFor); !h.Failed() && time.Now().Before(end); {
		s := newStack(h)
		h.Run(s.mix(hist))
		s.close(h)
	}
}

func TestPlantedBugsAreCaught(t *testing.T) {
	for _, tc := range []struct {
		name     string
		newStack func(*stress.Harness) *tstack
		history  bool
		want     []string // the report must contain one of these
	}{
		{"reclaim without grace period", epochWith(noGrace), false,
			[]string{"use after reclaim"}},
		{"retire a reachable node", epochWith(retireReachable), false,
			[]string{"use after reclaim", "retired twice", "reclaimed twice", "still reachable", "retired after it was reclaimed"}},
		{"protect without re-validation", hazardWith(skipRevalidate), false,
			[]string{"use after reclaim"}},
		{"double retire", epochWith(doubleRetire), false,
			[]string{"retired twice"}},
		{"double retire behind the ledger's back", epochWith(doubleReclaim), false,
			[]string{"reclaimed twice"}},
		{"pop drops an element", epochWith(dropOnPop), false,
			[]string{"conservation violated: lost"}},
		{"pop drops an element, with history", epochWith(dropOnPop), true,
			[]string{"conservation violated: lost", "not linearizable"}},
		{"load before Enter", epochWith(loadBeforeEnter), true,
			[]string{"use after reclaim"}},
		{"retire before unlink", epochWith(retireBeforeUnlink), true,
			[]string{"retired twice", "use after reclaim"}},
		// Caught because the free function clobbers the value too: the
		// Ledger's poison writes the Canary word alone.
		{"read after retire", func(h *stress.Harness) *tstack {
			s := newHazardStack(h, readAfterRetire)
			s.l = stress.NewLedger(h, func(n *tnode) { n.value.Store(-1); n.canary.Poison() })
			return s
		}, false, []string{"which was never added"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			got := stress.Capture(t, func(tb testing.TB) { hunt(tb, tc.newStack, tc.history) })
			took := time.Since(start)
			require.True(t, got.Failed(), "the harness missed the planted bug in %v", took)
			require.Less(t, took, catchWithin, "caught too late")
			msg := got.Messages()[0]
			require.Truef(t, containsAny(msg, tc.want), "the first report is not about the bug: %s", msg)
			require.Contains(t, msg, "seed=")
			t.Logf("caught in %v: %.200s", took.Round(time.Millisecond), msg)
		})
	}
}

// The controls: the same stacks and runs without a bug report nothing.
func TestCorrectStacksPass(t *testing.T) {
	for _, tc := range []struct {
		name     string
		newStack func(*stress.Harness) *tstack
	}{
		{"epoch", epochWith(correct)},
		{"hazard", hazardWith(correct)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := stress.Capture(t, func(tb testing.TB) {
				h := stress.New(tb, stress.Ops(4000))
				hist := stress.NewHistory(h, stress.StackModel())
				for range 3 {
					s := tc.newStack(h)
					h.Run(s.mix(hist))
					s.close(h)
				}
			})
			require.False(t, got.Failed(), "false alarm: %s", got)
		})
	}
}

func epochWith(b bug) func(*stress.Harness) *tstack {
	return func(h *stress.Harness) *tstack { return newEpochStack(h, b) }
}

func hazardWith(b bug) func(*stress.Harness) *tstack {
	return func(h *stress.Harness) *tstack { return newHazardStack(h, b) }
}

// containsAny reports whether msg contains one of subs.
func containsAny(msg string, subs []string) bool {
	return slices.ContainsFunc(subs, func(s string) bool { return strings.Contains(msg, s) })
}

// Without StackMix's conservation check, linearizability alone catches the
// dropped element: the drain's final "empty" contradicts a value that was
// pushed and never popped.
func TestPlantedDropCaughtByLinearizability(t *testing.T) {
	start := time.Now()
	got := stress.Capture(t, func(tb testing.TB) {
		h := stress.New(tb, stress.Ops(400))
		hist := stress.NewHistory(h, stress.StackModel())
		for end := time.Now().Add(searchFor); !h.Failed() && time.Now().Before(end); {
			s := newEpochStack(h, dropOnPop)
			var values atomic.Int64
			pop := func(w *stress.Worker) bool {
				call := hist.Call(w, stress.Input{Kind: stress.Pop})
				v, ok := s.pop(w)
				call.Return(stress.Output{Value: v, OK: ok})
				return ok
			}
			h.Run(stress.Mix{
				{Name: "push", Weight: 2, Do: func(w *stress.Worker) {
					v := int(values.Add(1))
					call := hist.Call(w, stress.Input{Kind: stress.Push, Value: v})
					s.push(w, v)
					call.Return(nil)
				}},
				{Name: "pop", Weight: 3, Do: func(w *stress.Worker) { pop(w) }},
				stress.Finally("drain", func(w *stress.Worker) {
					for pop(w) {
					}
				}),
			})
			s.close(h)
		}
	})
	took := time.Since(start)
	require.True(t, got.Failed(), "missed in %v", took)
	require.Less(t, took, catchWithin)
	require.Contains(t, got.Messages()[0], "not linearizable against the stack model")
	t.Logf("caught in %v", took.Round(time.Millisecond))
}
