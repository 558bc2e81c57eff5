package stress_test

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/go-reclaim/reclaim/epoch"
	"github.com/go-reclaim/reclaim/stress"
)

// A reader that stalls inside a guard, or with a protection, while the
// others pop and retire, still finds what it loaded intact when it wakes.
func TestStalledReaders(t *testing.T) {
	t.Run("epoch", func(t *testing.T) {
		h := stress.New(t, stress.Ops(1200))
		s := newEpochStack(h, correct)
		reader := stress.Stall("stalled-reader", 2*time.Millisecond, func(w *stress.Worker) func() {
			g := s.c.Enter()
			n := epoch.Load(g, &s.head)
			return func() {
				if n != nil {
					stress.CheckRead(w, n)
				}
				g.Exit()
			}
		})
		res := h.Run(append(s.mix(nil), reader, stress.StallGuard(s.c, time.Millisecond)))
		s.close(h)
		require.Positive(t, res.Counts["stalled-reader"])
		require.Positive(t, res.Counts["stall-guard"])
	})
	t.Run("hazard", func(t *testing.T) {
		h := stress.New(t, stress.Ops(1200))
		s := newHazardStack(h, correct)
		res := h.Run(append(s.mix(nil), stress.StallProtect(s.d, &s.head, 2*time.Millisecond)))
		s.close(h)
		require.Positive(t, res.Counts["stall-protect"])
	})
}

// A stalled reader on a stack that reclaims without a grace period finds
// its node poisoned (the pops, which do not yield here, rarely do).
func TestStalledReaderCatchesEarlyReclaim(t *testing.T) {
	got := stress.Capture(t, func(tb testing.TB) {
		h := stress.New(tb, stress.Ops(20_000), stress.YieldRate(0))
		s := newHazardStack(h, noGrace)
		mix := append(s.mix(nil), stress.StallProtect(s.d, &s.head, time.Millisecond))
		mix[len(mix)-1].Weight = 10
		h.Run(mix)
		s.close(h)
	})
	require.True(t, got.Failed())
	require.Regexp(t, `stall-protect #\d+: use after reclaim`, got.String())
}

func TestStallEndsWhenTheRunStops(t *testing.T) {
	start := time.Now()
	got := stress.Capture(t, func(tb testing.TB) {
		h := stress.New(tb, stress.Goroutines(2), stress.Ops(2))
		h.Run(stress.Mix{stress.Stall("stall", time.Minute, func(w *stress.Worker) func() {
			if w.ID() == 1 {
				w.Errorf("stop the run")
			}
			return nil
		})})
	})
	require.True(t, got.Failed())
	require.Less(t, time.Since(start), 10*time.Second)
}

// Goroutines that exit with garbage in a Handle's batch: Close still
// reclaims all of it, exactly once.
func TestAbandonedHandles(t *testing.T) {
	h := stress.New(t, stress.Ops(2000))
	s := newEpochStack(h, correct)
	abandon := stress.AbandonHandle(s.c, func(w *stress.Worker, g *epoch.Guard) {
		for range 1 + w.Rand().IntN(3) {
			n := new(tnode)
			s.l.Alloc(n)
			s.l.Retire(n)
			epoch.Retire(g, n, s.l.Reclaim)
		}
	})
	res := h.Run(append(s.mix(nil), abandon))
	s.close(h)
	require.Positive(t, res.Counts["abandon-handle"])
	st := s.l.Stats()
	require.Equal(t, st.Retired, st.Reclaimed)
}

func TestAbandonReportsPanicsWithTheirStack(t *testing.T) {
	var res stress.Result
	got := stress.Capture(t, func(tb testing.TB) {
		h := stress.New(tb, stress.Goroutines(1), stress.Ops(3))
		calls := 0
		res = h.Run(stress.Mix{stress.Abandon("exit", func(w *stress.Worker) {
			if calls++; calls == 1 {
				panic(stress.InjectedPanic{What: "test"}) // counted, not reported
			}
			panic("inner")
		})})
	})
	require.True(t, got.Failed())
	require.Len(t, got.Messages(), 1, "the run stops at the first")
	require.Contains(t, got.Messages()[0], "exit #2: panic: inner\ngoroutine ")
	require.Contains(t, got.Messages()[0], "fault_test.go")
	require.Equal(t, int64(1), res.Panics)
}

// Free functions that panic after reclaiming: the workers recover, Shutdown
// retries Close, and the Ledger finds every node reclaimed exactly once.
func TestPanickingFreeFunctions(t *testing.T) {
	for name, newStack := range map[string]func(*stress.Harness) *tstack{
		"epoch":  epochWith(correct),
		"hazard": hazardWith(correct),
	} {
		t.Run(name, func(t *testing.T) {
			h := stress.New(t, stress.Ops(4000))
			s := newStack(h)
			s.panicky = true
			res := h.Run(s.mix(nil))
			s.close(h)
			require.Positive(t, res.Panics, "%v", res)
			st := s.l.Verify()
			require.Equal(t, st.Retired, st.Reclaimed)
			require.Zero(t, st.Violations)
		})
	}
}

func TestShutdown(t *testing.T) {
	calls := 0
	require.NoError(t, stress.Shutdown(t, func() error {
		if calls++; calls < 3 {
			panic(stress.InjectedPanic{What: "close"})
		}
		return nil
	}))
	require.Equal(t, 3, calls)

	closing := errors.New("guards still open")
	got := stress.Capture(t, func(tb testing.TB) {
		require.ErrorIs(tb, stress.Shutdown(tb, func() error { return closing }), closing)
	})
	require.Equal(t, []string{"stress: Shutdown: guards still open"}, got.Messages())

	require.PanicsWithValue(t, "real", func() { stress.Shutdown(t, func() error { panic("real") }) })
	require.Equal(t, "stress: injected panic in free", stress.InjectedPanic{What: "free"}.String())
}
