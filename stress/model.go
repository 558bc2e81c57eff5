package stress

import (
	"fmt"
	"slices"
	"strings"

	"github.com/anishathalye/porcupine"
)

// Kind is the kind of an operation recorded in a History.
type Kind uint8

// The operations the built-in models understand.
const (
	Push     Kind = iota + 1 // stack: push Input.Value
	Pop                      // stack: pop; Output is the value, or OK false when empty
	Enqueue                  // queue: enqueue Input.Value
	Dequeue                  // queue: dequeue; Output as for Pop
	Insert                   // set, map: add Input.Key (with Input.Value) if absent; OK reports whether it was added
	Delete                   // set, map: remove Input.Key; OK reports whether it was present
	Contains                 // set, map: OK reports whether Input.Key is present
	Get                      // map: the value at Input.Key; OK false when absent
	Put                      // map: set Input.Key to Input.Value; Output is not checked
)

var kindNames = [...]string{"invalid", "push", "pop", "enqueue", "dequeue", "insert", "delete", "contains", "get", "put"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("Kind(%d)", k)
}

// Input is the input of an operation in a History of a built-in model.
type Input struct {
	Kind  Kind
	Key   int // set and map operations
	Value int // Push, Enqueue, Insert (map), Put
}

// Output is the result of an operation in a History of a built-in model.
// Push, Enqueue and Put record the zero Output.
type Output struct {
	Value int
	OK    bool
}

func (in Input) String() string {
	switch in.Kind {
	case Push, Enqueue:
		return fmt.Sprintf("%v(%d)", in.Kind, in.Value)
	case Pop, Dequeue:
		return fmt.Sprintf("%v()", in.Kind)
	case Put:
		return fmt.Sprintf("put(%d, %d)", in.Key, in.Value)
	}
	return fmt.Sprintf("%v(%d)", in.Kind, in.Key)
}

// Model is a sequential specification that histories are checked against.
// The built-in models (StackModel, QueueModel, SetModel, MapModel) take
// Input and Output; a custom model takes whatever its porcupine.Model does,
// with Kinds left nil.
type Model struct {
	// Name appears in failures.
	Name string
	// Spec is the porcupine model: Init and Step at least.
	Spec porcupine.Model
	// Kinds lists the operations a built-in model accepts. When it is not
	// nil, every recorded input must be an Input of one of these kinds and
	// every output an Output; a mismatch is reported as a configuration
	// error, not as a linearizability violation.
	Kinds []Kind
}

// validate reports what makes m unusable.
func (m Model) validate() error {
	switch {
	case m.Name == "":
		return fmt.Errorf("model has no Name")
	case m.Spec.Init == nil:
		return fmt.Errorf("model %q has no Spec.Init", m.Name)
	case m.Spec.Step == nil && m.Spec.StepContext == nil:
		return fmt.Errorf("model %q has no Spec.Step", m.Name)
	}
	return nil
}

// accepts reports whether a built-in model can take in and out (out nil:
// not known yet).
func (m Model) accepts(in, out any) error {
	if m.Kinds == nil {
		return nil
	}
	i, ok := in.(Input)
	if !ok {
		return fmt.Errorf("the %s model takes a stress.Input, not a %T (%v)", m.Name, in, in)
	}
	if !slices.Contains(m.Kinds, i.Kind) {
		return fmt.Errorf("the %s model takes %v, not %v", m.Name, m.Kinds, i)
	}
	if _, ok := out.(Output); out != nil && !ok {
		return fmt.Errorf("the %s model takes a stress.Output, not a %T (%v), as the output of %v", m.Name, out, out, i)
	}
	return nil
}

// StackModel is a LIFO stack of ints: Push and Pop.
func StackModel() Model {
	return Model{Name: "stack", Kinds: []Kind{Push, Pop}, Spec: porcupine.Model{
		Init: func() any { return (*cell)(nil) },
		Step: func(state, input, output any) (bool, any) {
			s, in, out := state.(*cell), input.(Input), output.(Output)
			switch {
			case in.Kind == Push:
				return true, s.push(in.Value)
			case s == nil:
				return !out.OK, s
			}
			return out.OK && out.Value == s.v, s.next
		},
		Equal:             func(a, b any) bool { return a.(*cell).equal(b.(*cell)) },
		Hash:              func(state any) uint64 { return state.(*cell).hash() },
		DescribeOperation: describe,
		DescribeState:     func(state any) string { return fmt.Sprint(state.(*cell).values()) },
	}}
}

// cell is an immutable stack: states share their tails, so a push costs
// one allocation and comparing two states stops at the first shared cell.
type cell struct {
	v    int
	next *cell
	n    int    // cells from here to the bottom
	h    uint64 // hash of the stack from here down
}

func (c *cell) push(v int) *cell {
	return &cell{v: v, next: c, n: c.len() + 1, h: (c.hash() ^ uint64(v)) * 1099511628211}
}

func (c *cell) len() int {
	if c == nil {
		return 0
	}
	return c.n
}

func (c *cell) hash() uint64 {
	if c == nil {
		return 14695981039346656037
	}
	return c.h
}

func (c *cell) equal(d *cell) bool {
	for ; c != d; c, d = c.next, d.next {
		if c.len() != d.len() || c.hash() != d.hash() || c.v != d.v {
			return false
		}
	}
	return true
}

// values lists the stack bottom first, as the visualization shows it.
func (c *cell) values() []int {
	vs := make([]int, c.len())
	for i := len(vs) - 1; c != nil; i, c = i-1, c.next {
		vs[i] = c.v
	}
	return vs
}

// QueueModel is a FIFO queue of ints: Enqueue and Dequeue.
func QueueModel() Model {
	return Model{Name: "queue", Kinds: []Kind{Enqueue, Dequeue}, Spec: porcupine.Model{
		Init: func() any { return seq(nil) },
		Step: func(state, input, output any) (bool, any) {
			s, in, out := state.(seq), input.(Input), output.(Output)
			switch {
			case in.Kind == Enqueue:
				return true, append(slices.Clip(s), in.Value) // copies: s stays intact
			case len(s) == 0:
				return !out.OK, s
			}
			return out.OK && out.Value == s[0], s[1:]
		},
		Equal: func(a, b any) bool { return slices.Equal(a.(seq), b.(seq)) },
		Hash: func(state any) uint64 {
			h := uint64(14695981039346656037)
			for _, v := range state.(seq) {
				h = (h ^ uint64(v)) * 1099511628211
			}
			return h
		},
		DescribeOperation: describe,
		DescribeState:     func(state any) string { return fmt.Sprint([]int(state.(seq))) },
	}}
}

// seq is the immutable state of a queue: Step never writes to it.
type seq []int

// SetModel is a set of int keys: Insert, Delete and Contains. Histories are
// partitioned by key, so long histories check quickly.
func SetModel() Model {
	return keyedModel("set", []Kind{Insert, Delete, Contains}, func(st entryState, in Input, out Output) (bool, entryState) {
		switch in.Kind {
		case Insert:
			return out.OK == !st.ok, entryState{ok: true}
		case Delete:
			return out.OK == st.ok, entryState{}
		}
		return out.OK == st.ok, st
	})
}

// MapModel is a map from int keys to int values: Get, Put, Insert, Delete
// and Contains. Histories are partitioned by key.
func MapModel() Model {
	return keyedModel("map", []Kind{Get, Put, Insert, Delete, Contains}, func(st entryState, in Input, out Output) (bool, entryState) {
		switch in.Kind {
		case Get:
			return out.OK == st.ok && (!st.ok || out.Value == st.v), st
		case Put:
			return true, entryState{in.Value, true}
		case Insert:
			if st.ok {
				return !out.OK, st
			}
			return out.OK, entryState{in.Value, true}
		case Delete:
			return out.OK == st.ok, entryState{}
		}
		return out.OK == st.ok, st
	})
}

// entryState is the state of one key: present (ok) with value v.
type entryState struct {
	v  int
	ok bool
}

func keyedModel(name string, kinds []Kind, step func(entryState, Input, Output) (bool, entryState)) Model {
	return Model{Name: name, Kinds: kinds, Spec: porcupine.Model{
		Partition: func(history []porcupine.Operation) [][]porcupine.Operation {
			byKey := make(map[int][]porcupine.Operation)
			var keys []int
			for _, op := range history {
				k := op.Input.(Input).Key
				if byKey[k] == nil {
					keys = append(keys, k)
				}
				byKey[k] = append(byKey[k], op)
			}
			parts := make([][]porcupine.Operation, len(keys))
			for i, k := range keys {
				parts[i] = byKey[k]
			}
			return parts
		},
		Init: func() any { return entryState{} },
		Step: func(state, input, output any) (bool, any) {
			return step(state.(entryState), input.(Input), output.(Output))
		},
		Hash: func(state any) uint64 {
			st := state.(entryState)
			if !st.ok {
				return 0
			}
			return uint64(st.v)*0x9E3779B97F4A7C15 + 1
		},
		DescribeOperation: describe,
		DescribeState: func(state any) string {
			if st := state.(entryState); st.ok {
				return fmt.Sprint(st.v)
			}
			return "absent"
		},
	}}
}

// describe renders an operation for failures and the visualization.
func describe(input, output any) string {
	in, out := input.(Input), output.(Output)
	var b strings.Builder
	b.WriteString(in.String())
	switch in.Kind {
	case Push, Enqueue, Put:
	case Pop, Dequeue, Get:
		if out.OK {
			fmt.Fprintf(&b, " → %d", out.Value)
		} else {
			b.WriteString(" → none")
		}
	default:
		fmt.Fprintf(&b, " → %v", out.OK)
	}
	return b.String()
}
