package stress_test

import (
	"context"
	"os"
	"regexp"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
	"github.com/stretchr/testify/require"

	"github.com/go-reclaim/reclaim/stress"
)

// record runs steps once, on the Finally worker of a one-operation Run,
// so that a test can write a history by hand; overlapping operations are
// made by calling before the previous one returns.
func record(h *stress.Harness, steps func(w *stress.Worker)) {
	h.Run(stress.Mix{{Name: "idle", Weight: 1, Do: func(*stress.Worker) {}}, stress.Finally("record", steps)})
}

// recorded runs a captured test that records steps in a History of m.
func recorded(t *testing.T, m stress.Model, steps func(hist *stress.History, w *stress.Worker), opts ...stress.Option) *stress.Captured {
	return stress.Capture(t, func(tb testing.TB) {
		h := stress.New(tb, append([]stress.Option{stress.Ops(1)}, opts...)...)
		hist := stress.NewHistory(h, m)
		record(h, func(w *stress.Worker) { steps(hist, w) })
	})
}

func in(k stress.Kind, keyOrValue int) stress.Input {
	return stress.Input{Kind: k, Key: keyOrValue, Value: keyOrValue}
}

func out(v int, ok bool) stress.Output { return stress.Output{Value: v, OK: ok} }

func TestHistoryAcceptsOverlappingOperations(t *testing.T) {
	got := stress.Capture(t, func(tb testing.TB) {
		h := stress.New(tb, stress.Ops(1))
		hist := stress.NewHistory(h, stress.StackModel())
		record(h, func(w *stress.Worker) {
			a, b := hist.Call(w, in(stress.Push, 1)), hist.Call(w, in(stress.Push, 2))
			b.Return(nil) // nil is the zero Output
			a.Return(stress.Output{})
			require.Equal(w, 2, hist.Len())
			hist.Call(w, in(stress.Pop, 0)).Return(out(1, true)) // 1 was pushed last: fine, they overlapped
			hist.Call(w, in(stress.Pop, 0)).Return(out(2, true))
			hist.Call(w, in(stress.Pop, 0)).Return(out(0, false))
		})
		require.Zero(tb, hist.Len(), "checked and emptied")
	})
	require.False(t, got.Failed(), "%s", got)
}

var visualization = regexp.MustCompile(`visualization: (\S+\.html) \(go test -artifacts keeps it\)`)

func TestHistoryViolationIsReportedWithVisualization(t *testing.T) {
	noReplay(t)
	got := recorded(t, stress.StackModel(), func(hist *stress.History, w *stress.Worker) {
		hist.Call(w, in(stress.Push, 1)).Return(nil)
		hist.Call(w, in(stress.Push, 2)).Return(nil)
		hist.Call(w, in(stress.Pop, 0)).Return(out(1, true)) // 2 is on top
	}, stress.Seed(3))
	require.True(t, got.Failed())
	msg := got.Messages()[0]
	require.Contains(t, msg, "stress: the history of 3 operations is not linearizable against the stack model\n")
	require.Contains(t, msg, "the longest linearizable prefix has 2 of 3 operations and ends push(1), push(2); none of the others can follow it")
	require.Contains(t, msg, "seed=3;")
	m := visualization.FindStringSubmatch(msg)
	require.NotNil(t, m, msg)
	page, err := os.ReadFile(m[1]) // in t's ArtifactDir, which lives until t ends
	require.NoError(t, err)
	require.Contains(t, string(page), "<html")
}

func TestHistoryViolationOfAKeyedModel(t *testing.T) {
	got := recorded(t, stress.SetModel(), func(hist *stress.History, w *stress.Worker) {
		hist.Call(w, in(stress.Insert, 2)).Return(out(0, true))
		hist.Call(w, in(stress.Insert, 1)).Return(out(0, true))
		hist.Call(w, in(stress.Contains, 1)).Return(out(0, false))
	})
	require.True(t, got.Failed())
	require.Contains(t, got.String(), "the longest linearizable prefix has 1 of 2 operations and ends insert(1) → true;")

	first := recorded(t, stress.MapModel(), func(hist *stress.History, w *stress.Worker) {
		hist.Call(w, in(stress.Get, 1)).Return(out(5, true))
	})
	require.Contains(t, first.String(), "no operation of 1 can come first, among them get(1) → 5")
}

func TestHistoryModelMismatchIsAConfigError(t *testing.T) {
	for _, tc := range []struct {
		name   string
		model  func() stress.Model
		record func(hist *stress.History, w *stress.Worker)
		want   string
	}{
		{"kind", stress.StackModel, func(hist *stress.History, w *stress.Worker) {
			hist.Call(w, in(stress.Enqueue, 1)).Return(nil)
		}, "stress: history: the stack model takes [push pop], not enqueue(1)"},
		{"input type", stress.QueueModel, func(hist *stress.History, w *stress.Worker) {
			hist.Call(w, "enqueue 1").Return(nil)
		}, "the queue model takes a stress.Input, not a string (enqueue 1)"},
		{"output type", stress.SetModel, func(hist *stress.History, w *stress.Worker) {
			hist.Call(w, in(stress.Insert, 1)).Return(true)
		}, "the set model takes a stress.Output, not a bool (true), as the output of insert(1)"},
		{"custom model", func() stress.Model {
			return stress.Model{Name: "strings", Spec: porcupine.Model{
				Init: func() any { return "" },
				Step: func(s, in, _ any) (bool, any) { return true, s.(string) + in.(string) },
			}}
		}, func(hist *stress.History, w *stress.Worker) {
			hist.Call(w, in(stress.Push, 1)).Return(nil)
		}, "the strings model panicked while checking: interface conversion"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := recorded(t, tc.model(), tc.record)
			require.True(t, got.Failed())
			require.Len(t, got.Messages(), 1, "reported once, as a configuration error")
			require.Contains(t, got.Messages()[0], tc.want)
		})
	}
}

func TestHistoryOfAnotherHarness(t *testing.T) {
	got := stress.Capture(t, func(tb testing.TB) {
		other := stress.NewHistory(stress.New(tb), stress.StackModel())
		record(stress.New(tb, stress.Ops(1)), func(w *stress.Worker) { other.Call(w, in(stress.Pop, 0)).Return(nil) })
	})
	require.Contains(t, got.String(), "History.Call with a worker of another harness")
}

func TestNewHistoryRejectsAnInvalidModel(t *testing.T) {
	for want, m := range map[string]stress.Model{
		"model has no Name":          {},
		`model "x" has no Spec.Init`: {Name: "x"},
		`model "x" has no Spec.Step`: {Name: "x", Spec: porcupine.Model{Init: func() any { return 0 }}},
		"":                           {Name: "x", Spec: porcupine.Model{Init: func() any { return 0 }, StepContext: stepAny}},
	} {
		got := stress.Capture(t, func(tb testing.TB) { stress.NewHistory(stress.New(tb), m) })
		require.Equal(t, want != "", got.Failed(), want)
		if want != "" {
			require.Contains(t, got.String(), "stress: NewHistory: "+want)
		}
	}
}

func TestHistoryCustomModel(t *testing.T) {
	// A register: write v, or read the last value written.
	register := stress.Model{Name: "register", Spec: porcupine.Model{
		Init: func() any { return 0 },
		Step: func(s, in, out any) (bool, any) {
			if v, ok := in.(int); ok {
				return true, v
			}
			return out == s, s
		},
	}}
	got := stress.Capture(t, func(tb testing.TB) {
		h := stress.New(tb, stress.Ops(1))
		hist := stress.NewHistory(h, register)
		record(h, func(w *stress.Worker) {
			hist.Call(w, 5).Return(nil)
			hist.Call(w, "read").Return(5)
		})
		record(h, func(w *stress.Worker) { hist.Call(w, "read").Return(5) }) // each Run is checked from Init
	})
	require.Len(t, got.Messages(), 1)
	require.Contains(t, got.Messages()[0], "the register model\n  no operation of 1 can come first, among them read -> 5")
}

func TestHistoryNotCheckedWhenIncomplete(t *testing.T) {
	got := recorded(t, stress.StackModel(), func(hist *stress.History, w *stress.Worker) {
		hist.Call(w, in(stress.Push, 1)) // never returns
		hist.Call(w, in(stress.Pop, 0)).Return(out(7, true))
	})
	require.False(t, got.Failed())
	require.Contains(t, got.Logs(), "stress: stack history of 2 operations not checked: 1 never returned")

	failed := recorded(t, stress.StackModel(), func(hist *stress.History, w *stress.Worker) {
		w.Errorf("something else broke")
		hist.Call(w, in(stress.Pop, 0)).Return(out(7, true))
	})
	require.Len(t, failed.Messages(), 1)
	require.Contains(t, failed.Logs(), "stress: stack history of 1 operations not checked: the test has already failed")
}

func TestHistoryCheckTimeoutIsInconclusive(t *testing.T) {
	slow := stress.Model{Name: "slow", Spec: porcupine.Model{
		Init: func() any { return 0 },
		Step: func(s, _, _ any) (bool, any) { time.Sleep(time.Millisecond); return true, s },
	}}
	got := recorded(t, slow, func(hist *stress.History, w *stress.Worker) {
		for range 200 {
			hist.Call(w, 1).Return(nil)
		}
	}, stress.CheckTimeout(20*time.Millisecond))
	require.False(t, got.Failed())
	require.Contains(t, got.Logs(), "stress: slow history of 200 operations: linearizability check inconclusive after 20ms")
}

func stepAny(_ context.Context, s, _, _ any) (bool, any) { return true, s }
