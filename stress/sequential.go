package stress

import (
	"strings"
	"testing"

	"github.com/anishathalye/porcupine"
	"pgregory.net/rapid"
)

// CheckSequential checks with rapid that a container used by one goroutine
// agrees with the built-in model m: rapid draws sequences of up to 64 of
// m's operations (keys 0 to 7, values 0 to 99), applies each sequence to a
// fresh container from newTarget, and checks after every operation that
// the sequence so far, as a history without overlaps, is linearizable
// (with m's partitioning, so a keyed model keeps a state per key). A
// failing sequence is shrunk to a minimal one and reported to tb, with
// rapid's replay instructions. Run it before stressing: a container that is
// wrong sequentially fails here with a readable counterexample.
//
// It is also how this package's own tests check the models, against
// obviously correct reference implementations.
func CheckSequential(tb testing.TB, m Model, newTarget func() func(Input) Output) {
	tb.Helper()
	if err := m.validate(); err != nil {
		tb.Fatalf("stress: CheckSequential: %v", err)
	}
	if len(m.Kinds) == 0 {
		tb.Fatalf("stress: CheckSequential: model %q lists no Kinds: only built-in models (Input and Output) are supported", m.Name)
	}
	if newTarget == nil {
		tb.Fatalf("stress: CheckSequential: nil newTarget")
	}
	input := rapid.Custom(func(t *rapid.T) Input {
		return Input{
			Kind:  rapid.SampledFrom(m.Kinds).Draw(t, "kind"),
			Key:   rapid.IntRange(0, 7).Draw(t, "key"),
			Value: rapid.IntRange(0, 99).Draw(t, "value"),
		}
	})
	var g guard
	spec := g.wrap(m.Spec)
	rapid.Check(tb, func(t *rapid.T) {
		apply := newTarget()
		var ops []porcupine.Operation
		var done []string
		for i, in := range rapid.SliceOfN(input, 0, 64).Draw(t, "ops") {
			out := apply(in)
			ops = append(ops, porcupine.Operation{Input: in, Output: out, Call: int64(2 * i), Return: int64(2*i + 1)})
			ok := g.check(spec, ops, 0) == porcupine.Ok
			if g.err != nil {
				t.Fatalf("the %s model panicked: %v", m.Name, g.err)
			}
			desc := spec.DescribeOperation(in, out)
			if !ok {
				t.Fatalf("operation %d, %s, is not allowed by the %s model after [%s]", i, desc, m.Name, strings.Join(done, ", "))
			}
			done = append(done, desc)
		}
	})
}
