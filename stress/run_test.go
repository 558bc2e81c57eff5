package stress_test

import (
	"flag"
	"fmt"
	"math"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/go-reclaim/reclaim/stress"
)

// count returns an operation that counts its calls per worker.
func count(perWorker []atomic.Int64) func(w *stress.Worker) {
	return func(w *stress.Worker) { perWorker[w.ID()].Add(1) }
}

func TestRunSharesOpsAmongWorkers(t *testing.T) {
	h := stress.New(t, stress.Goroutines(3), stress.Ops(10))
	per := make([]atomic.Int64, h.Goroutines()+1)
	res := h.Run(stress.Mix{{Name: "count", Weight: 1, Do: count(per)}})
	require.Equal(t, int64(10), res.Ops)
	require.Equal(t, map[string]int64{"count": 10}, res.Counts)
	require.Equal(t, []int64{4, 3, 3, 0}, []int64{per[0].Load(), per[1].Load(), per[2].Load(), per[3].Load()})
	require.Equal(t, h.Seed(), res.Seed)
	require.Contains(t, res.String(), fmt.Sprintf("seed=%d: 10 ops", h.Seed()))
}

func TestRunDefaults(t *testing.T) {
	h := stress.New(t)
	require.Positive(t, h.Goroutines())
	res := h.Run(stress.Mix{{Weight: 1, Do: func(*stress.Worker) {}}})
	require.Equal(t, int64(stress.DefaultOps), res.Ops)
	require.Equal(t, int64(stress.DefaultOps), res.Counts["op0"], "unnamed ops are named by position")
}

func TestRunDrawsByWeight(t *testing.T) {
	h := stress.New(t, stress.Ops(40_000))
	res := h.Run(stress.Mix{
		{Name: "rare", Weight: 1, Do: func(*stress.Worker) {}},
		{Name: "never", Weight: 0, Do: func(*stress.Worker) { panic("drawn with weight 0") }},
		{Name: "often", Weight: 3, Do: func(*stress.Worker) {}},
	})
	require.Zero(t, res.Counts["never"])
	ratio := float64(res.Counts["often"]) / float64(res.Counts["rare"])
	require.InDelta(t, 3, ratio, 0.3, "%v", res.Counts)
}

// trace records, for one worker, the operations it drew and its random numbers.
func trace(t *testing.T, opts ...stress.Option) (runs [2][]string) {
	h := stress.New(t, append([]stress.Option{stress.Goroutines(1), stress.Ops(50)}, opts...)...)
	for i := range runs {
		var log []string
		op := func(name string) func(*stress.Worker) {
			return func(w *stress.Worker) { log = append(log, fmt.Sprint(name, w.Rand().IntN(1000))) }
		}
		h.Run(stress.Mix{{Name: "a", Weight: 1, Do: op("a")}, {Name: "b", Weight: 2, Do: op("b")}})
		runs[i] = log
	}
	return runs
}

func TestSeedReplaysEachWorker(t *testing.T) {
	noReplay(t)
	first := trace(t, stress.Seed(42))
	require.Equal(t, first, trace(t, stress.Seed(42)), "same seed, same draws")
	require.NotEqual(t, first[0], first[1], "each Run draws from new streams")
	require.NotEqual(t, first, trace(t, stress.Seed(43)))

	t.Setenv(stress.SeedEnv, "42")
	require.Equal(t, first, trace(t, stress.Seed(7)), "STRESS_SEED overrides the option")
}

func TestSeedFlagOverridesEnv(t *testing.T) {
	noReplay(t)
	t.Setenv(stress.SeedEnv, "1")
	setFlag(t, "stress.seed", "0x2a")
	require.Equal(t, uint64(42), stress.New(t).Seed())
}

func TestScaleMultipliesOps(t *testing.T) {
	t.Setenv(stress.ScaleEnv, "2.5")
	h := stress.New(t, stress.Ops(100))
	require.Equal(t, int64(250), h.Run(stress.Mix{{Weight: 1, Do: func(*stress.Worker) {}}}).Ops)
}

func TestDurationBoundsTheRun(t *testing.T) {
	h := stress.New(t, stress.Duration(50*time.Millisecond), stress.Goroutines(2))
	res := h.Run(stress.Mix{{Weight: 1, Do: func(*stress.Worker) { time.Sleep(time.Millisecond) }}})
	require.GreaterOrEqual(t, res.Elapsed, 50*time.Millisecond)
	require.Less(t, res.Elapsed, 5*time.Second)
	require.Positive(t, res.Ops)
}

func TestOpsAndDurationWhicheverFirst(t *testing.T) {
	h := stress.New(t, stress.Duration(time.Minute), stress.Ops(100))
	res := h.Run(stress.Mix{{Weight: 1, Do: func(*stress.Worker) {}}})
	require.Equal(t, int64(100), res.Ops)
	require.Less(t, res.Elapsed, 10*time.Second)
}

// On one processor, another worker runs inside an operation only if the
// operation yields.
func TestYieldLetsOthersRunInsideAnOperation(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	for _, rate := range []float64{0, 1} {
		h := stress.New(t, stress.Goroutines(2), stress.Ops(2000), stress.YieldRate(rate))
		var ticks atomic.Int64
		interleaved := 0
		h.Run(stress.Mix{{Name: "op", Weight: 1, Do: func(w *stress.Worker) {
			if w.ID() == 1 {
				ticks.Add(1)
				return
			}
			before := ticks.Load()
			w.Yield()
			if ticks.Load() != before {
				interleaved++
			}
		}}})
		if rate == 0 {
			require.Less(t, interleaved, 10, "without yields, worker 1 runs inside worker 0's operations only on preemption")
		} else {
			require.Greater(t, interleaved, 100)
		}
	}
}

func TestFinallyRunsAloneAfterTheWorkers(t *testing.T) {
	h := stress.New(t, stress.Ops(500))
	var done atomic.Int64
	var sawDone int64
	var finalID int
	var order []string
	h.Run(stress.Mix{
		{Name: "work", Weight: 1, Do: func(*stress.Worker) { done.Add(1) }},
		stress.Finally("first", func(w *stress.Worker) {
			sawDone, finalID = done.Load(), w.ID()
			order = append(order, "first")
		}),
		stress.Finally("second", func(*stress.Worker) { order = append(order, "second") }),
	})
	require.Equal(t, int64(500), sawDone)
	require.Equal(t, h.Goroutines(), finalID)
	require.Equal(t, []string{"first", "second"}, order)
}

func TestWorkerFailureCarriesSeedAndStopsTheRun(t *testing.T) {
	noReplay(t)
	var res stress.Result
	got := stress.Capture(t, func(tb testing.TB) {
		h := stress.New(tb, stress.Ops(100_000), stress.Seed(99))
		res = h.Run(stress.Mix{{Name: "fail", Weight: 1, Do: func(w *stress.Worker) {
			if w.ID() == 1 {
				w.Errorf("broken: %d", 7)
			}
		}}})
	})
	require.True(t, got.Failed())
	msg := got.Messages()[0]
	require.Regexp(t, `^worker 1, fail #\d+: broken: 7\n`, msg)
	require.Contains(t, msg, "seed=99; rerun with STRESS_SEED=99 go test ")
	require.True(t, strings.HasSuffix(msg, "-run '^TestWorkerFailureCarriesSeedAndStopsTheRun$' ./stress"),
		"the replay command names the package, from the module root: %s", msg)
	require.Less(t, res.Ops, int64(100_000), "the run stops at the first failure")
}

func TestRequireInsideAnOperation(t *testing.T) {
	var reached atomic.Bool
	got := stress.Capture(t, func(tb testing.TB) {
		h := stress.New(tb, stress.Ops(1000))
		h.Run(stress.Mix{{Name: "check", Weight: 1, Do: func(w *stress.Worker) {
			require.Equal(w, 1, 2, "values differ")
			reached.Store(true) // FailNow ended the worker
		}}})
	})
	require.True(t, got.Failed())
	require.Contains(t, got.String(), "values differ")
	require.False(t, reached.Load())
}

func TestWorkerHelpers(t *testing.T) {
	got := stress.Capture(t, func(tb testing.TB) {
		h := stress.New(tb, stress.Goroutines(1), stress.Ops(5))
		h.Run(stress.Mix{{Name: "op", Weight: 1, Do: func(w *stress.Worker) {
			w.Helper()
			require.Same(w, h, w.Harness())
			w.Logf("note %d", 1)
			w.Fatalf("fatal %d", 2)
		}}})
	})
	require.Equal(t, []string{"worker 0, op #1: note 1"}, got.Logs())
	require.Len(t, got.Messages(), 1)
	require.True(t, strings.HasPrefix(got.Messages()[0], "worker 0, op #1: fatal 2\nseed="))
}

func TestPanicInOperationIsReported(t *testing.T) {
	got := stress.Capture(t, func(tb testing.TB) {
		stress.New(tb, stress.Ops(100)).Run(stress.Mix{{Name: "boom", Weight: 1, Do: func(*stress.Worker) { panic("kaboom") }}})
	})
	require.True(t, got.Failed())
	require.Contains(t, got.Messages()[0], "boom #1: panic: kaboom\n")
	require.Contains(t, got.Messages()[0], "run_test.go", "with the stack")
}

func TestHungRunIsReported(t *testing.T) {
	release := make(chan struct{})
	var res stress.Result
	got := stress.Capture(t, func(tb testing.TB) {
		h := stress.New(tb, stress.Goroutines(2), stress.Ops(10), stress.Timeout(200*time.Millisecond), stress.NoLeakCheck())
		res = h.Run(stress.Mix{{Name: "block", Weight: 1, Do: func(w *stress.Worker) {
			if w.ID() == 0 {
				<-release
			}
		}}})
	})
	close(release)
	require.True(t, got.Failed())
	require.True(t, res.Hung)
	require.Contains(t, res.String(), "hung")
	require.Contains(t, got.Messages()[0], "the run did not finish within 200ms")
	require.Contains(t, got.Messages()[0], "goroutine ", "with every stack")
}

func TestLeakedGoroutineIsReported(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	got := stress.Capture(t, func(tb testing.TB) {
		h := stress.New(tb, stress.Ops(1))
		h.Run(stress.Mix{{Weight: 1, Do: func(*stress.Worker) { go func() { <-release }() }}})
	})
	require.Len(t, got.Messages(), 1, "reported once")
	require.Contains(t, got.Messages()[0], "goroutines still running after the run (started by its operations)")

	late := stress.Capture(t, func(tb testing.TB) {
		stress.New(tb)
		go leaky(release)
	})
	require.Len(t, late.Messages(), 1)
	require.Contains(t, late.Messages()[0], "goroutines still running at the end of the test")

	ignored := stress.Capture(t, func(tb testing.TB) {
		h := stress.New(tb, stress.Ops(1), stress.IgnoreLeaks(goleakIgnoreTop()))
		h.Run(stress.Mix{{Weight: 1, Do: func(*stress.Worker) { go leaky(release) }}})
	})
	require.False(t, ignored.Failed(), "%s", ignored)
}

func leaky(release chan struct{}) { <-release }

func TestReportsAreBounded(t *testing.T) {
	got := stress.Capture(t, func(tb testing.TB) {
		h := stress.New(tb, stress.Goroutines(1), stress.Ops(1))
		for i := range 50 {
			h.Errorf("failure %d", i)
		}
	})
	require.Len(t, got.Messages(), 20)
	require.True(t, got.Failed())
}

func TestHarnessIsATB(t *testing.T) {
	noReplay(t)
	got := stress.Capture(t, func(tb testing.TB) {
		h := stress.New(tb, stress.Seed(5))
		h.Error("plain", 1)
		require.Equal(h, 1, 2) // require reports through the harness: with the seed
	})
	require.Len(t, got.Messages(), 2)
	require.True(t, strings.HasPrefix(got.Messages()[0], "plain 1\nseed=5;"))
	require.Contains(t, got.Messages()[1], "seed=5;")

	fatal := stress.Capture(t, func(tb testing.TB) {
		h := stress.New(tb)
		h.Fatal("stop", "here")
		h.Error("not reached")
	})
	require.Len(t, fatal.Messages(), 1)
	require.True(t, strings.HasPrefix(fatal.Messages()[0], "stop here\n"))
}

func TestConfigErrorsAreTestErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts []stress.Option
		env  [2]string
		want string
	}{
		{"zero goroutines", []stress.Option{stress.Goroutines(0)}, [2]string{}, "Goroutines(0): a run needs at least one goroutine"},
		{"zero ops", []stress.Option{stress.Ops(0)}, [2]string{}, "Ops(0)"},
		{"negative duration", []stress.Option{stress.Duration(-time.Second)}, [2]string{}, "Duration(-1s): must be positive"},
		{"yield rate", []stress.Option{stress.YieldRate(1.5)}, [2]string{}, "YieldRate(1.5)"},
		{"NaN yield rate", []stress.Option{stress.YieldRate(math.NaN())}, [2]string{}, "YieldRate(NaN)"},
		{"timeout", []stress.Option{stress.Timeout(0)}, [2]string{}, "Timeout(0s)"},
		{"history size", []stress.Option{stress.HistorySize(0)}, [2]string{}, "HistorySize(0)"},
		{"check timeout", []stress.Option{stress.CheckTimeout(-1)}, [2]string{}, "CheckTimeout(-1ns)"},
		{"nil option", []stress.Option{nil}, [2]string{}, "option 0 is nil"},
		{"bad seed", nil, [2]string{stress.SeedEnv, "abc"}, `STRESS_SEED="abc": not a seed`},
		{"bad scale", nil, [2]string{stress.ScaleEnv, "-1"}, `STRESS_SCALE="-1": not a positive number`},
		{"two errors", []stress.Option{stress.Goroutines(-1), stress.Ops(-1)}, [2]string{}, "Goroutines(-1): a run needs at least one goroutine\n\tOps(-1)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.env[0] != "" {
				t.Setenv(tc.env[0], tc.env[1])
			}
			ran := false
			got := stress.Capture(t, func(tb testing.TB) {
				h := stress.New(tb, tc.opts...)
				ran = true // not reached: New fails the test at once
				h.Run(nil)
			})
			require.True(t, got.Failed())
			require.False(t, ran)
			require.Contains(t, got.Messages()[0], "stress: invalid configuration:")
			require.Contains(t, got.Messages()[0], tc.want)
		})
	}
}

func TestMixErrorsAreTestErrors(t *testing.T) {
	nop := func(*stress.Worker) {}
	for _, tc := range []struct {
		name string
		mix  stress.Mix
		want string
	}{
		{"empty", nil, "empty operation mix"},
		{"nil Do", stress.Mix{{Name: "x", Weight: 1}}, `op "x" has no Do function`},
		{"negative weight", stress.Mix{{Name: "x", Weight: -1, Do: nop}}, `op "x" has negative Weight -1`},
		{"huge weight", stress.Mix{{Name: "x", Weight: 1 << 21, Do: nop}}, `Weight 2097152 is too large`},
		{"duplicate names", stress.Mix{{Name: "x", Weight: 1, Do: nop}, {Name: "x", Weight: 1, Do: nop}}, `two ops are named "x"`},
		{"nothing to draw", stress.Mix{{Weight: 0, Do: nop}, stress.Finally("end", nop)}, "no op in the mix has a positive Weight"},
		{"stall duration", stress.Mix{stress.Stall("s", -time.Second, nil)}, `op "s": stall duration -1s must be positive`},
		{"nil hold", stress.Mix{stress.Stall("s", time.Second, nil)}, `op "s": nil hold function`},
		{"nil abandon", stress.Mix{stress.Abandon("a", nil)}, `op "a": nil function`},
		{"nil retire", stress.Mix{stress.AbandonHandle(nil, nil)}, `op "abandon-handle": nil retire function`},
		{"no keys", stress.SetMix(nil, 0, nil, nil, nil), `key range 0: need at least one key`},
		{"nil set function", stress.SetMix(nil, 4, nil, nil, nil), `op "insert": nil container function`},
		{"nil map function", stress.MapMix(nil, 4, nil, nil, nil), `op "get": nil container function`},
		{"nil stack function", stress.StackMix(nil, nil, nil), `op "push": nil container function`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := stress.Capture(t, func(tb testing.TB) { stress.New(tb).Run(tc.mix) })
			require.True(t, got.Failed())
			require.Contains(t, got.Messages()[0], tc.want)
		})
	}
}

func TestScale(t *testing.T) {
	f := flag.Lookup("stress.scale")
	old := f.Value.String()
	defer f.Value.Set(old)
	require.NoError(t, f.Value.Set(""))
	t.Setenv(stress.ScaleEnv, "")
	require.Equal(t, 1.0, stress.Scale())
	t.Setenv(stress.ScaleEnv, "2.5")
	require.Equal(t, 2.5, stress.Scale())
	require.NoError(t, f.Value.Set("4"))
	require.Equal(t, 4.0, stress.Scale(), "the flag wins")
	require.NoError(t, f.Value.Set("-1"))
	require.Equal(t, 1.0, stress.Scale(), "invalid: New reports it")
}
