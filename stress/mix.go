package stress

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
)

// Op is one kind of operation in a Mix. Each worker repeatedly draws an Op
// with probability proportional to its Weight and calls Do.
type Op struct {
	// Name identifies the operation in failures and in Result.Counts;
	// empty names become "op0", "op1", ... by position.
	Name string
	// Weight is the relative frequency; 0 keeps the operation out of the
	// draw. It must not be negative, nor more than 1<<20.
	Weight int
	// Do performs one operation on the calling worker.
	Do func(w *Worker)

	final  bool              // a Finally operation
	resets bool              // a Finally operation that empties the structure
	begin  func(workers int) // prepares per-worker state before each Run
	err    string            // a constructor's complaint, reported by Run
}

// Mix is the set of operations a Run draws from.
type Mix []Op

// Finally returns an operation that is not drawn at random: it runs once,
// on the worker with ID Harness.Goroutines(), after every worker of the Run
// has stopped. Use it to drain the structure and check invariants while
// nothing else runs; what it records in a History is checked with the rest.
// Finally operations run in the order of the Mix.
func Finally(name string, do func(w *Worker)) Op {
	return Op{Name: name, Do: do, final: true}
}

// FinallyReset is Finally for an operation that empties the structure,
// returning it to the state a Model starts from (StackMix's and QueueMix's
// drain are such operations), and records what it takes in the History.
// With one in the Mix, a Run with a History attached and more Ops than
// HistorySize is split into rounds of HistorySize operations, each ended
// by the Finally operations and checked on its own, instead of being cut
// short.
func FinallyReset(name string, do func(w *Worker)) Op {
	return Op{Name: name, Do: do, final: true, resets: true}
}

// maxWeight bounds each weight so that their sum cannot overflow an int,
// even a 32-bit one, for any mix of up to a thousand operations.
const maxWeight = 1 << 20

// plan is a validated Mix: what the workers draw and what runs at the end.
type plan struct {
	ops    []Op  // every operation, in Mix order
	drawn  []int // indices of drawn operations
	cum    []int // cumulative weights of drawn
	finals []int // indices of Finally operations
	resets bool  // a Finally operation empties the structure: Runs may have rounds
}

// compile validates m, with messages that name the offending operation.
func (m Mix) compile() (*plan, error) {
	if len(m) == 0 {
		return nil, fmt.Errorf("empty operation mix: give Run at least one Op with a positive Weight")
	}
	p := &plan{ops: make([]Op, len(m))}
	seen := make(map[string]bool, len(m))
	total := 0
	for i, op := range m {
		if op.Name == "" {
			op.Name = fmt.Sprintf("op%d", i)
		}
		switch {
		case op.err != "":
			return nil, fmt.Errorf("op %q: %s", op.Name, op.err)
		case op.Do == nil:
			return nil, fmt.Errorf("op %q has no Do function", op.Name)
		case op.Weight < 0:
			return nil, fmt.Errorf("op %q has negative Weight %d", op.Name, op.Weight)
		case op.Weight > maxWeight:
			return nil, fmt.Errorf("op %q: Weight %d is too large (at most %d)", op.Name, op.Weight, maxWeight)
		case total > math.MaxInt32-op.Weight:
			return nil, fmt.Errorf("op %q: the weights add up to more than %d", op.Name, math.MaxInt32)
		case seen[op.Name]:
			return nil, fmt.Errorf("two ops are named %q", op.Name)
		}
		seen[op.Name] = true
		p.ops[i] = op
		switch {
		case op.final:
			p.finals = append(p.finals, i)
			p.resets = p.resets || op.resets
		case op.Weight > 0:
			total += op.Weight
			p.drawn = append(p.drawn, i)
			p.cum = append(p.cum, total)
		}
	}
	if total == 0 {
		return nil, fmt.Errorf("no op in the mix has a positive Weight: nothing to draw")
	}
	return p, nil
}

// pick draws the index of an operation.
func (p *plan) pick(rng *rand.Rand) int {
	x := rng.IntN(p.cum[len(p.cum)-1])
	return p.drawn[sort.SearchInts(p.cum, x+1)]
}
