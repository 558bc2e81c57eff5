package stress_test

import (
	"testing"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/go-reclaim/reclaim/stress"
)

// Obviously correct sequential implementations, to check the models against.

// refSequence is a stack (lifo) or a queue of ints.
func refSequence(add stress.Kind, lifo bool) func() func(stress.Input) stress.Output {
	return func() func(stress.Input) stress.Output {
		var s []int
		return func(in stress.Input) stress.Output {
			if in.Kind == add {
				s = append(s, in.Value)
				return stress.Output{}
			}
			if len(s) == 0 {
				return stress.Output{}
			}
			i := 0
			if lifo {
				i = len(s) - 1
			}
			v := s[i]
			s = append(s[:i], s[i+1:]...)
			return stress.Output{Value: v, OK: true}
		}
	}
}

var (
	refStack = refSequence(stress.Push, true)
	refQueue = refSequence(stress.Enqueue, false)
)

func refMap() func(stress.Input) stress.Output {
	m := map[int]int{}
	return func(in stress.Input) stress.Output {
		v, ok := m[in.Key]
		switch in.Kind {
		case stress.Put:
			m[in.Key] = in.Value
			return stress.Output{}
		case stress.Insert:
			if !ok {
				m[in.Key] = in.Value
			}
			return stress.Output{OK: !ok}
		case stress.Delete:
			delete(m, in.Key)
			return stress.Output{OK: ok}
		case stress.Contains:
			return stress.Output{OK: ok}
		}
		if !ok {
			return stress.Output{}
		}
		return stress.Output{Value: v, OK: true}
	}
}

var models = []struct {
	model func() stress.Model
	ref   func() func(stress.Input) stress.Output
}{
	{stress.StackModel, refStack},
	{stress.QueueModel, refQueue},
	{stress.SetModel, refMap}, // a set is a map whose values nobody reads
	{stress.MapModel, refMap},
}

func TestModelsAgreeWithReferences(t *testing.T) {
	for _, m := range models {
		t.Run(m.model().Name, func(t *testing.T) { stress.CheckSequential(t, m.model(), m.ref) })
	}
}

// A model that accepted a wrong output would let bugs through: from every
// state, each checked operation accepts the reference's output and nothing
// else. Keyed models (those with a Partition) keep a state per key.
func TestModelsRejectWrongOutputs(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		m := rapid.SampledFrom(models).Draw(rt, "model")
		model, ref := m.model(), m.ref()
		states := map[int]any{}
		for range rapid.IntRange(0, 40).Draw(rt, "steps") {
			in := stress.Input{
				Kind:  rapid.SampledFrom(model.Kinds).Draw(rt, "kind"),
				Key:   rapid.IntRange(0, 3).Draw(rt, "key"),
				Value: rapid.IntRange(0, 9).Draw(rt, "value"),
			}
			part := 0
			if model.Spec.Partition != nil {
				part = in.Key
			}
			state, seen := states[part]
			if !seen {
				state = model.Spec.Init()
			}
			out := ref(in)
			if checked(in.Kind) {
				wrong := []stress.Output{{Value: out.Value, OK: !out.OK}}
				if valued(in.Kind) && out.OK {
					wrong = append(wrong, stress.Output{Value: out.Value + 1, OK: true})
				}
				for _, w := range wrong {
					ok, _ := model.Spec.Step(state, in, w)
					require.False(rt, ok, "%s model accepted %v → %+v instead of %+v", model.Name, in, w, out)
				}
			}
			ok, next := model.Spec.Step(state, in, out)
			require.True(rt, ok, "%s model rejected %v → %+v", model.Name, in, out)
			states[part] = next
		}
	})
}

// checked: the operation's output means something.
func checked(k stress.Kind) bool { return k != stress.Push && k != stress.Enqueue && k != stress.Put }

// valued: the output's Value means something when OK.
func valued(k stress.Kind) bool { return k == stress.Pop || k == stress.Dequeue || k == stress.Get }

func TestCheckSequentialFindsABuggyContainer(t *testing.T) {
	setFlag(t, "rapid.nofailfile", "true") // the failure is expected: keep testdata clean
	got := stress.Capture(t, func(tb testing.TB) {
		stress.CheckSequential(tb, stress.StackModel(), func() func(stress.Input) stress.Output {
			q := refQueue() // a "stack" that is really a queue
			return func(in stress.Input) stress.Output {
				in.Kind += stress.Enqueue - stress.Push
				return q(in)
			}
		})
	})
	require.True(t, got.Failed())
	require.Contains(t, got.String(), "is not allowed by the stack model after [")
}

func TestCheckSequentialConfigErrors(t *testing.T) {
	custom := stress.Model{Name: "custom", Spec: stress.StackModel().Spec}
	for _, tc := range []struct {
		name   string
		model  stress.Model
		target func() func(stress.Input) stress.Output
		want   string
	}{
		{"no kinds", custom, refStack, `model "custom" lists no Kinds`},
		{"no name", stress.Model{}, refStack, "model has no Name"},
		{"nil target", stress.StackModel(), nil, "nil newTarget"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := stress.Capture(t, func(tb testing.TB) { stress.CheckSequential(tb, tc.model, tc.target) })
			require.True(t, got.Failed())
			require.Contains(t, got.String(), tc.want)
		})
	}
}

func TestInputAndKindStrings(t *testing.T) {
	require.Equal(t, "push(3)", stress.Input{Kind: stress.Push, Value: 3}.String())
	require.Equal(t, "dequeue()", stress.Input{Kind: stress.Dequeue}.String())
	require.Equal(t, "put(1, 2)", stress.Input{Kind: stress.Put, Key: 1, Value: 2}.String())
	require.Equal(t, "contains(5)", stress.Input{Kind: stress.Contains, Key: 5}.String())
	require.Equal(t, "Kind(42)", stress.Kind(42).String())
}

// Equal and Hash let porcupine merge states reached by different orders.
func TestModelStatesCompare(t *testing.T) {
	for _, m := range []stress.Model{stress.StackModel(), stress.QueueModel()} {
		add := m.Kinds[0]
		state := func(values ...int) any {
			s := m.Spec.Init()
			for _, v := range values {
				_, s = m.Spec.Step(s, stress.Input{Kind: add, Value: v}, stress.Output{})
			}
			return s
		}
		a, b := state(1, 2, 3), state(1, 2, 3)
		require.True(t, m.Spec.Equal(a, b), m.Name)
		require.Equal(t, m.Spec.Hash(a), m.Spec.Hash(b))
		for _, other := range []any{state(1, 3, 2), state(1, 2), state(), state(0, 2, 3)} {
			require.False(t, m.Spec.Equal(a, other), "%s: %s vs %s", m.Name, m.Spec.DescribeState(a), m.Spec.DescribeState(other))
		}
		require.Equal(t, "[1 2 3]", m.Spec.DescribeState(a), "bottom or front first")
	}
}
