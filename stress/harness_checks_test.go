package stress_test

// The harness's own checks: models fed impossible histories, bugs planted
// in tstack (tstack_test.go) that fire once, at its 5th pop or retirement
// (each must be reported with a message that names it, while the same
// stack without the bug passes), replay, watchdogs and the documented
// tolerance of injected panics.

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
	"github.com/stretchr/testify/require"

	"github.com/go-reclaim/reclaim/stress"
)

// ---- models -------------------------------------------------------------

// rvSeq is a history of operations that do not overlap, in order.
func rvSeq(ops ...[2]any) []porcupine.Operation {
	h := make([]porcupine.Operation, len(ops))
	for i, op := range ops {
		h[i] = porcupine.Operation{Input: op[0], Output: op[1], Call: int64(2 * i), Return: int64(2*i + 1)}
	}
	return h
}

func rvOp(k stress.Kind, keyOrValue int, o stress.Output) [2]any {
	return [2]any{stress.Input{Kind: k, Key: keyOrValue, Value: keyOrValue}, o}
}

func rvPut(key, v int) [2]any {
	return [2]any{stress.Input{Kind: stress.Put, Key: key, Value: v}, stress.Output{}}
}

// Each built-in model rejects the sequential histories a broken container
// produces, and accepts the same history without the bug.
func TestModelsRejectImpossibleHistories(t *testing.T) {
	ok, none := func(v int) stress.Output { return stress.Output{Value: v, OK: true} }, stress.Output{}
	for _, tc := range []struct {
		name  string
		model stress.Model
		bad   []porcupine.Operation
		good  []porcupine.Operation
	}{
		{"stack: pop of a value never pushed", stress.StackModel(),
			rvSeq(rvOp(stress.Push, 1, none), rvOp(stress.Pop, 0, ok(7))),
			rvSeq(rvOp(stress.Push, 1, none), rvOp(stress.Pop, 0, ok(1)))},
		{"stack: a value popped twice", stress.StackModel(),
			rvSeq(rvOp(stress.Push, 1, none), rvOp(stress.Push, 2, none), rvOp(stress.Pop, 0, ok(2)), rvOp(stress.Pop, 0, ok(2))),
			rvSeq(rvOp(stress.Push, 1, none), rvOp(stress.Push, 2, none), rvOp(stress.Pop, 0, ok(2)), rvOp(stress.Pop, 0, ok(1)))},
		{"stack: FIFO order", stress.StackModel(),
			rvSeq(rvOp(stress.Push, 1, none), rvOp(stress.Push, 2, none), rvOp(stress.Pop, 0, ok(1))),
			rvSeq(rvOp(stress.Push, 1, none), rvOp(stress.Push, 2, none), rvOp(stress.Pop, 0, ok(2)))},
		{"stack: empty while holding a value", stress.StackModel(),
			rvSeq(rvOp(stress.Push, 1, none), rvOp(stress.Pop, 0, none)),
			rvSeq(rvOp(stress.Push, 1, none), rvOp(stress.Pop, 0, ok(1)), rvOp(stress.Pop, 0, none))},
		{"stack: a pop of the zero value from an empty stack", stress.StackModel(),
			rvSeq(rvOp(stress.Pop, 0, ok(0))),
			rvSeq(rvOp(stress.Pop, 0, none))},
		{"queue: a value dequeued twice", stress.QueueModel(),
			rvSeq(rvOp(stress.Enqueue, 1, none), rvOp(stress.Enqueue, 2, none), rvOp(stress.Dequeue, 0, ok(1)), rvOp(stress.Dequeue, 0, ok(1))),
			rvSeq(rvOp(stress.Enqueue, 1, none), rvOp(stress.Enqueue, 2, none), rvOp(stress.Dequeue, 0, ok(1)), rvOp(stress.Dequeue, 0, ok(2)))},
		{"queue: LIFO order", stress.QueueModel(),
			rvSeq(rvOp(stress.Enqueue, 1, none), rvOp(stress.Enqueue, 2, none), rvOp(stress.Dequeue, 0, ok(2))),
			rvSeq(rvOp(stress.Enqueue, 1, none), rvOp(stress.Enqueue, 2, none), rvOp(stress.Dequeue, 0, ok(1)))},
		{"set: inserted twice", stress.SetModel(),
			rvSeq(rvOp(stress.Insert, 3, ok(0)), rvOp(stress.Insert, 3, ok(0))),
			rvSeq(rvOp(stress.Insert, 3, ok(0)), rvOp(stress.Insert, 3, none))},
		{"set: deleted key still contained", stress.SetModel(),
			rvSeq(rvOp(stress.Insert, 3, ok(0)), rvOp(stress.Delete, 3, ok(0)), rvOp(stress.Contains, 3, ok(0))),
			rvSeq(rvOp(stress.Insert, 3, ok(0)), rvOp(stress.Delete, 3, ok(0)), rvOp(stress.Contains, 3, none))},
		{"map: a stale value", stress.MapModel(),
			rvSeq(rvPut(1, 10), rvPut(1, 11), rvOp(stress.Get, 1, ok(10))),
			rvSeq(rvPut(1, 10), rvPut(1, 11), rvOp(stress.Get, 1, ok(11)))},
		{"map: a value of another key", stress.MapModel(),
			rvSeq(rvPut(1, 10), rvPut(2, 20), rvOp(stress.Get, 2, ok(10))),
			rvSeq(rvPut(1, 10), rvPut(2, 20), rvOp(stress.Get, 2, ok(20)))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, porcupine.Illegal, porcupine.CheckOperationsTimeout(tc.model.Spec, tc.bad, 0), "the model accepts a wrong history")
			require.Equal(t, porcupine.Ok, porcupine.CheckOperationsTimeout(tc.model.Spec, tc.good, 0), "the model rejects a right history")
		})
	}
}

// The same through a Run: a pop of a value never pushed, recorded by a
// worker, fails the test as a linearizability violation.
func TestHistoryOfAPopNeverPushedFails(t *testing.T) {
	got := stress.Capture(t, func(tb testing.TB) {
		h := stress.New(tb, stress.Ops(1), stress.Goroutines(1))
		hist := stress.NewHistory(h, stress.StackModel())
		h.Run(stress.Mix{{Name: "idle", Weight: 1, Do: func(*stress.Worker) {}}, stress.Finally("steps", func(w *stress.Worker) {
			hist.Call(w, stress.Input{Kind: stress.Push, Value: 1}).Return(stress.Output{})
			hist.Call(w, stress.Input{Kind: stress.Pop}).Return(stress.Output{Value: 1, OK: true})
			hist.Call(w, stress.Input{Kind: stress.Pop}).Return(stress.Output{Value: 1, OK: true}) // twice
		})})
	})
	require.True(t, got.Failed())
	require.Contains(t, got.Messages()[0], "not linearizable against the stack model")
	require.Contains(t, got.Messages()[0], "seed=")
}

// ---- bugs planted in tstack that fire once --------------------------------

// Each planted bug is reported with a message that names it; the same
// stack and run without a bug report nothing.
func TestPlantedBugsAreNamed(t *testing.T) {
	for _, tc := range []struct {
		name string
		bug  bug
		peek bool
		want string // "" for the control
	}{
		{"control", correct, false, ""},
		{"control with a reader holding its node", correct, true, ""},
		{"duplicated element", duplicate, false, "conservation violated: took"},
		{"lost element", dropOnce, false, "conservation violated: lost"},
		{"reclaimed never", neverReclaimed, false, "were never reclaimed (lost)"},
		{"double free", doubleFree, false, "reclaimed twice"},
		{"read after free", readAfterFree, false, "use after reclaim: read a poisoned *stress_test.tnode"},
		{"free while a reader holds the node", freeWhileHeld, true, "use after reclaim: read a poisoned *stress_test.tnode"},
		{"leaked goroutine", leakGoroutine, false, "goroutines still running after the run"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			release := make(chan struct{})
			defer close(release)
			got := stress.Capture(t, func(tb testing.TB) {
				h := stress.New(tb, stress.Ops(400), stress.Goroutines(4))
				s := newEpochStack(h, tc.bug)
				s.release = release
				mix := s.deepMix()
				if tc.peek {
					mix = append(mix, stress.Op{Name: "peek-pop", Weight: 2, Do: s.peekPop})
				}
				h.Run(mix)
				s.close(h)
			})
			if tc.want == "" {
				require.False(t, got.Failed(), "false alarm: %s", got)
				return
			}
			require.True(t, got.Failed(), "the harness missed the planted bug")
			require.Contains(t, got.Messages()[0], tc.want, "the first report does not name the bug")
			require.Contains(t, got.Messages()[0], "seed=")
		})
	}
}

// The read-after-free report names the read, and where the ledger saw
// the node retired and reclaimed.
func TestUseAfterReclaimTellsTheStory(t *testing.T) {
	got := stress.Capture(t, func(tb testing.TB) {
		h := stress.New(tb, stress.Ops(100), stress.Goroutines(1))
		s := newEpochStack(h, readAfterFree)
		h.Run(s.deepMix())
		s.close(h)
	})
	require.True(t, got.Failed())
	msg := got.Messages()[0]
	require.Regexp(t, `^worker 0, pop #\d+: use after reclaim`, msg)
	require.Contains(t, msg, "tstack_test.go:")
	require.Contains(t, msg, "the ledger has it reclaimed")
	require.Contains(t, msg, "last retired at")
	require.Contains(t, msg, "last reclaimed at")
}

// A node unlinked and never retired (an off-heap slot or pooled buffer
// that is never given back) is invisible to Verify, which reports only
// objects retired and never reclaimed; the Stats show it.
func TestNeverRetiredIsOnlyInTheStats(t *testing.T) {
	var st stress.LedgerStats
	got := stress.Capture(t, func(tb testing.TB) {
		h := stress.New(tb, stress.Ops(400))
		s := newEpochStack(h, neverRetired)
		h.Run(s.deepMix())
		s.close(h)
		st = s.l.Stats()
	})
	require.False(t, got.Failed(), "%s", got)
	require.Equal(t, st.Allocated-1, st.Retired, "one node was never retired")
}

// ---- injected panics ------------------------------------------------------

// The package documentation: "An operation that such a panic interrupts
// never returns, ... and the mixes' final drain allows one lost value per
// panic". A free function runs wherever reclamation runs, which may be an
// add (epoch.Pool.Get reclaims, and runs OnReclaim, to refill its free
// list), and an add interrupted before it links its value loses that
// value as surely as an interrupted take. The drain counts only the takes.
func TestInjectedPanicInAPushIsTolerated(t *testing.T) {
	got := stress.Capture(t, func(tb testing.TB) {
		h := stress.New(tb, stress.Ops(200), stress.Goroutines(2))
		var mu sync.Mutex
		var s []int
		var pushes atomic.Int64
		res := h.Run(stress.StackMix(nil,
			func(_ *stress.Worker, v int) {
				if pushes.Add(1) == 3 {
					// as stress.PanicAfter's free function would, from a
					// reclamation that runs before the value is linked
					panic(stress.InjectedPanic{What: "free(*node)"})
				}
				mu.Lock()
				defer mu.Unlock()
				s = append(s, v)
			},
			func(*stress.Worker) (int, bool) {
				mu.Lock()
				defer mu.Unlock()
				if len(s) == 0 {
					return 0, false
				}
				v := s[len(s)-1]
				s = s[:len(s)-1]
				return v, true
			}))
		require.Equal(tb, int64(1), res.Panics)
	})
	require.False(t, got.Failed(), "one value lost to one injected panic is a false alarm: %s", got)
}

// ---- watchdogs ------------------------------------------------------------

// A Finally operation that never returns is reported as a hung run, not
// waited for.
func TestHungFinallyIsReported(t *testing.T) {
	release := make(chan struct{})
	var res stress.Result
	got := stress.Capture(t, func(tb testing.TB) {
		h := stress.New(tb, stress.Ops(4), stress.Timeout(200*time.Millisecond), stress.NoLeakCheck())
		res = h.Run(stress.Mix{{Name: "op", Weight: 1, Do: func(*stress.Worker) {}}, stress.Finally("stuck", func(*stress.Worker) { <-release })})
	})
	close(release)
	require.True(t, got.Failed())
	require.True(t, res.Hung)
	require.Contains(t, got.Messages()[0], "the run did not finish within 200ms")
}

// STRESS_SCALE multiplies a Run's Duration; a Duration scaled below a
// nanosecond becomes 0, which New takes for "no Duration", and a Run
// without Ops or Duration never ends: it is reported as hung instead of
// being a short run.
func TestTinyScaleKeepsADurationRunBounded(t *testing.T) {
	setFlag(t, "stress.scale", "1e-9")
	var res stress.Result
	got := stress.Capture(t, func(tb testing.TB) {
		h := stress.New(tb, stress.Duration(100*time.Millisecond), stress.Timeout(time.Second), stress.Goroutines(1))
		res = h.Run(stress.Mix{{Name: "op", Weight: 1, Do: func(*stress.Worker) { time.Sleep(time.Millisecond) }}})
	})
	require.False(t, res.Hung, "a scaled Duration run must stop: %s", got)
	require.False(t, got.Failed(), "%s", got)
}

// ---- replay ---------------------------------------------------------------

// rvTrace runs a harness with seed on one worker, in rounds with a
// History, on a stack whose draws depend on its state, twice (two Runs),
// and returns every operation with what it drew.
func rvTrace(t *testing.T, opts ...stress.Option) []string {
	var trace []string
	got := stress.Capture(t, func(tb testing.TB) {
		h := stress.New(tb, append([]stress.Option{stress.Ops(300), stress.HistorySize(100), stress.Goroutines(1), stress.YieldRate(0.5)}, opts...)...)
		hist := stress.NewHistory(h, stress.StackModel())
		for range 2 {
			var s []int
			h.Run(stress.StackMix(hist,
				func(w *stress.Worker, v int) {
					trace = append(trace, fmt.Sprint("push ", v, w.Rand().IntN(1000)))
					s = append(s, v)
				},
				func(w *stress.Worker) (int, bool) {
					if len(s) == 0 {
						trace = append(trace, "pop none")
						return 0, false
					}
					v := s[len(s)-1]
					s = s[:len(s)-1]
					w.Yield()
					trace = append(trace, fmt.Sprint("pop ", v, w.Rand().IntN(1000)))
					return v, true
				}))
		}
	})
	require.False(t, got.Failed(), "%s", got)
	return trace
}

func TestSeedReplaysRoundsAndRuns(t *testing.T) {
	noReplay(t)
	a := rvTrace(t, stress.Seed(99))
	require.Greater(t, len(a), 600, "both Runs, drains included")
	require.Equal(t, a, rvTrace(t, stress.Seed(99)))
	require.NotEqual(t, a, rvTrace(t, stress.Seed(100)))
	t.Setenv(stress.SeedEnv, "99")
	require.Equal(t, a, rvTrace(t), "STRESS_SEED replays it")
}

// The replay line of a failure in a subtest selects that subtest alone.
func TestReplayLineNamesTheSubtest(t *testing.T) {
	noReplay(t)
	t.Run("a b/c", func(t *testing.T) {
		got := stress.Capture(t, func(tb testing.TB) {
			stress.New(tb, stress.Seed(17)).Errorf("boom")
		})
		msg := got.Messages()[0]
		require.True(t, strings.HasPrefix(msg, "boom\nseed=17; rerun with STRESS_SEED=17 go test "), msg)
		require.Contains(t, msg, `-run '^TestReplayLineNamesTheSubtest$/^a_b$/^c$' ./stress`)
	})
}

// A misspelled child test name fails the parent instead of passing with
// "no tests to run".
func TestRunChildOfAMissingTestFails(t *testing.T) {
	if stress.InChild() {
		t.Skip("parent only")
	}
	r := stress.Capture(t, func(tb testing.TB) { stress.RunChild(tb, "TestNoSuchTestAnywhere") })
	require.True(t, r.Failed(), "RunChild of a missing test passed")
	require.True(t, r.Contains("no test named TestNoSuchTestAnywhere ran in the child"), r.String())
}

// A failure the harness did not report itself (the race detector's, or a
// check of the test's own on the testing.TB) still gets the seed and the
// replay line, once the test ends.
func TestFailureOutsideTheHarnessGetsTheSeed(t *testing.T) {
	got := stress.Capture(t, func(tb testing.TB) {
		h := stress.New(tb, stress.Ops(1))
		h.Run(stress.Mix{{Name: "nop", Weight: 1, Do: func(*stress.Worker) {}}})
		tb.Errorf("the test's own check failed")
	})
	require.True(t, got.Failed())
	logs := strings.Join(got.Logs(), "\n")
	require.Contains(t, logs, "not through this harness's reports (if a subtest's harness reported, replay that one instead); seed=")

	reported := stress.Capture(t, func(tb testing.TB) {
		h := stress.New(tb, stress.Ops(1))
		h.Errorf("the harness's own report")
	})
	require.True(t, reported.Failed())
	require.NotContains(t, strings.Join(reported.Logs(), "\n"), "not through this harness's reports",
		"a failure the harness reported (with its seed) got a second replay line")

	passed := stress.Capture(t, func(tb testing.TB) {
		h := stress.New(tb, stress.Ops(1))
		h.Run(stress.Mix{{Name: "nop", Weight: 1, Do: func(*stress.Worker) {}}})
	})
	require.False(t, passed.Failed())
	require.NotContains(t, strings.Join(passed.Logs(), "\n"), "seed=")
}
