package stress_test

import (
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/go-reclaim/reclaim/container/stack"
	"github.com/go-reclaim/reclaim/stress"
)

// With a History attached, Ops(2000) is not cut to HistorySize: a mix
// with a drain (StackMix) runs in rounds of HistorySize, each drained and
// checked on its own.
func TestHistoryRunIsSplitIntoRounds(t *testing.T) {
	h := stress.New(t, stress.Ops(2000), stress.HistorySize(500))
	hist := stress.NewHistory(h, stress.StackModel())
	var s stack.GC[int]
	var mu sync.Mutex
	res := h.Run(stress.StackMix(hist,
		func(_ *stress.Worker, v int) { mu.Lock(); defer mu.Unlock(); s.Push(v) },
		func(*stress.Worker) (int, bool) { mu.Lock(); defer mu.Unlock(); return s.Pop() }))
	require.Equal(t, int64(2000), res.Ops, "every operation asked for")
	require.Equal(t, int64(4), res.Counts["drain"], "four rounds, each drained")
	require.False(t, res.Capped)
	require.Zero(t, hist.Len(), "every round checked")

	res = h.Run(stress.StackMix(hist,
		func(_ *stress.Worker, v int) { mu.Lock(); defer mu.Unlock(); s.Push(v) },
		func(*stress.Worker) (int, bool) { mu.Lock(); defer mu.Unlock(); return s.Pop() }))
	require.Equal(t, int64(2000), res.Ops, "and again in the next Run")
}

// A mix that cannot start a round from an empty structure (SetMix has no
// drain) is capped at HistorySize, and says so in the Result and the log.
func TestHistoryRunWithoutResetIsCappedVisibly(t *testing.T) {
	var res stress.Result
	got := stress.Capture(t, func(tb testing.TB) {
		h := stress.New(tb, stress.Ops(2000), stress.HistorySize(300))
		hist := stress.NewHistory(h, stress.SetModel())
		var mu sync.Mutex
		set := map[int]bool{}
		res = h.Run(stress.SetMix(hist, 8,
			func(_ *stress.Worker, k int) bool {
				mu.Lock()
				defer mu.Unlock()
				had := set[k]
				set[k] = true
				return !had
			},
			func(_ *stress.Worker, k int) bool {
				mu.Lock()
				defer mu.Unlock()
				had := set[k]
				delete(set, k)
				return had
			},
			func(_ *stress.Worker, k int) bool { mu.Lock(); defer mu.Unlock(); return set[k] }))
	})
	require.False(t, got.Failed(), "%s", got)
	require.Equal(t, int64(300), res.Ops)
	require.True(t, res.Capped)
	require.Contains(t, res.String(), "capped at HistorySize")
	require.Len(t, got.Logs(), 1)
	require.True(t, strings.Contains(got.Logs()[0], "HistorySize=300 operations, not the 2000 of Ops"), got.Logs()[0])
}

// Rounds stop at the first failure.
func TestRoundsStopAtAFailure(t *testing.T) {
	var res stress.Result
	got := stress.Capture(t, func(tb testing.TB) {
		h := stress.New(tb, stress.Ops(2000), stress.HistorySize(100))
		hist := stress.NewHistory(h, stress.StackModel())
		var mu sync.Mutex
		var s []int
		pops, dropped := 0, false
		res = h.Run(stress.StackMix(hist,
			func(_ *stress.Worker, v int) { mu.Lock(); defer mu.Unlock(); s = append(s, v) },
			func(*stress.Worker) (int, bool) {
				mu.Lock()
				defer mu.Unlock()
				if len(s) == 0 {
					return 0, false
				}
				v := s[len(s)-1]
				s = s[:len(s)-1]
				if pops++; pops >= 60 && !dropped && len(s) > 0 {
					s, dropped = s[:len(s)-1], true // drops one, after the first round
				}
				return v, true
			}))
	})
	require.True(t, got.Failed())
	require.GreaterOrEqual(t, res.Ops, int64(200), "the first round passed")
	require.Less(t, res.Ops, int64(2000), "no round after the failing one")
	require.Regexp(t, `conservation violated: lost 1 of \d+ values added \(e\.g\. \d+, the \d+(st|nd|rd|th) value worker \d+ added\)`, got.Messages()[0])
}
