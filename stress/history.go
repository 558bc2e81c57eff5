package stress

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/anishathalye/porcupine"
)

// History records the operations of a Run, with the time each was called
// and returned, for a linearizability check against a Model with porcupine.
// Every Run of the harness checks its attached histories after its workers
// and Finally operations are done, then empties them; while a History is
// attached, a Run is checked in rounds of at most HistorySize operations
// (see Run), so that each check takes seconds. A check that
// does not finish within CheckTimeout is logged as inconclusive.
//
// On a violation the failure names the model and the operations, and
// porcupine's visualization (an HTML page) is written to the test's
// ArtifactDir: pass -artifacts to go test to keep it.
//
// Each worker appends to its own list, so recording adds no synchronization
// between workers that could hide a data race from the race detector.
type History struct {
	h      *Harness
	model  Model
	start  time.Time
	ops    [][]porcupine.Operation // by worker ID
	checks int
	bad    atomic.Bool // a mismatch was reported: the history is not checked
}

// NewHistory returns a History checked against m and attaches it to h. An
// invalid model fails the test (Fatalf).
func NewHistory(h *Harness, m Model) *History {
	h.TB.Helper()
	if err := m.validate(); err != nil {
		h.Fatalf("stress: NewHistory: %v", err)
		return nil
	}
	hist := &History{h: h, model: m, start: time.Now(), ops: make([][]porcupine.Operation, h.Goroutines()+1)}
	h.attach(hist)
	return hist
}

// Call records that w calls an operation with input in; call Return on the
// result when it returns. An input the model does not accept is reported
// as a configuration error and stops the Run. A nil History records nothing.
func (hist *History) Call(w *Worker, in any) Call {
	if hist == nil {
		return Call{}
	}
	if w.h != hist.h {
		hist.mismatch(w, fmt.Errorf("History.Call with a worker of another harness"))
		return Call{}
	}
	if err := hist.model.accepts(in, nil); err != nil {
		hist.mismatch(w, err)
		return Call{}
	}
	ops := &hist.ops[w.id]
	*ops = append(*ops, porcupine.Operation{ClientId: w.id, Input: in, Call: hist.now(), Return: -1})
	return Call{hist, w.id, len(*ops) - 1}
}

// Call is an operation in progress in a History.
type Call struct {
	hist   *History
	worker int
	i      int
}

// Return records that the operation returned out.
func (c Call) Return(out any) {
	if c.hist == nil {
		return
	}
	op := &c.hist.ops[c.worker][c.i]
	op.Output, op.Return = out, c.hist.now()
}

func (hist *History) now() int64 { return time.Since(hist.start).Nanoseconds() }

func (hist *History) mismatch(r Reporter, err error) {
	if hist.bad.CompareAndSwap(false, true) {
		r.Errorf("stress: history: %v", err)
	}
}

// Len is the number of operations recorded since the last check.
func (hist *History) Len() int {
	n := 0
	for _, ops := range hist.ops {
		n += len(ops)
	}
	return n
}

// Check checks the recorded operations and empties the history. It returns
// false if it reported a failure. Run calls it; call it yourself for
// operations recorded outside a Run, from the test's goroutine once the
// recording goroutines are done. A history with an operation that never
// returned (its worker failed inside it) is not checked, nor is one
// recorded while the test had already failed.
func (hist *History) Check() bool {
	h := hist.h
	h.TB.Helper()
	var ops []porcupine.Operation
	pending := 0
	for i, list := range hist.ops {
		for _, op := range list {
			if op.Return < 0 {
				pending++
			}
		}
		ops = append(ops, list...)
		hist.ops[i] = nil
	}
	hist.checks++
	switch {
	case hist.bad.Load():
		return false
	case len(ops) == 0:
		return true
	case pending > 0:
		h.Logf("stress: %s history of %d operations not checked: %d never returned", hist.model.Name, len(ops), pending)
		return true
	case h.Failed():
		h.Logf("stress: %s history of %d operations not checked: the test has already failed", hist.model.Name, len(ops))
		return true
	}
	for i := range ops {
		if ops[i].Output == nil && hist.model.Kinds != nil {
			ops[i].Output = Output{}
		}
		if err := hist.model.accepts(ops[i].Input, ops[i].Output); err != nil {
			hist.mismatch(h, err)
			return false
		}
	}
	var g guard
	spec := g.wrap(hist.model.Spec)
	timeout := h.cfg.checkTimeout
	res := g.check(spec, ops, timeout)
	if g.err != nil {
		hist.mismatch(h, fmt.Errorf("the %s model panicked while checking: %v; does the model match the recorded inputs and outputs?", hist.model.Name, g.err))
		return false
	}
	switch res {
	case porcupine.Ok:
		return true
	case porcupine.Unknown:
		h.Logf("stress: %s history of %d operations: linearizability check inconclusive after %v", hist.model.Name, len(ops), timeout)
		return true
	}
	_, info := porcupine.CheckOperationsVerbose(spec, ops, timeout)
	h.Errorf("stress: the history of %d operations is not linearizable against the %s model%s\n  visualization: %s",
		len(ops), hist.model.Name, stuck(spec, ops, info), hist.visualize(spec, info))
	return false
}

// visualize writes porcupine's page for info and returns where, or why not.
func (hist *History) visualize(spec porcupine.Model, info porcupine.LinearizationInfo) (where string) {
	defer func() {
		if p := recover(); p != nil {
			where = fmt.Sprintf("not written: %v", p)
		}
	}()
	path := filepath.Join(hist.h.ArtifactDir(), fmt.Sprintf("%s-history-%d.html", hist.model.Name, hist.checks))
	if err := porcupine.VisualizePath(spec, info, path); err != nil {
		return fmt.Sprintf("not written: %v", err)
	}
	return path + " (go test -artifacts keeps it)"
}

// stuck describes the first partition of ops that porcupine could not
// linearize: its longest linearizable prefix, which no operation can follow.
func stuck(spec porcupine.Model, ops []porcupine.Operation, info porcupine.LinearizationInfo) string {
	parts := [][]porcupine.Operation{ops}
	if spec.Partition != nil {
		parts = spec.Partition(ops)
	}
	for i, lins := range info.PartialLinearizationsOperations() {
		var longest []porcupine.Operation
		for _, l := range lins {
			if len(l) > len(longest) {
				longest = l
			}
		}
		if i >= len(parts) || len(longest) == len(parts[i]) {
			continue
		}
		if len(longest) == 0 {
			return fmt.Sprintf("\n  no operation of %d can come first, among them %s", len(parts[i]), spec.DescribeOperation(parts[i][0].Input, parts[i][0].Output))
		}
		tail := longest[max(0, len(longest)-8):]
		descs := make([]string, len(tail))
		for j, op := range tail {
			descs[j] = spec.DescribeOperation(op.Input, op.Output)
		}
		return fmt.Sprintf("\n  the longest linearizable prefix has %d of %d operations and ends %s; none of the others can follow it",
			len(longest), len(parts[i]), strings.Join(descs, ", "))
	}
	return ""
}

// guard turns panics of a model's functions, which porcupine calls on its
// own goroutines, into an error, so that a model that does not match the
// history fails the test instead of crashing the test binary.
type guard struct {
	mu  sync.Mutex
	err error
}

func (g *guard) catch() {
	if p := recover(); p != nil {
		g.mu.Lock()
		if g.err == nil {
			g.err = fmt.Errorf("%v", p)
		}
		g.mu.Unlock()
	}
}

// check runs the fast check, catching panics on this goroutine too
// (porcupine calls Partition here).
func (g *guard) check(spec porcupine.Model, ops []porcupine.Operation, timeout time.Duration) porcupine.CheckResult {
	defer g.catch()
	return porcupine.CheckOperationsTimeout(spec, ops, timeout)
}

func (g *guard) wrap(m porcupine.Model) porcupine.Model {
	if init := m.Init; init != nil {
		m.Init = func() (s any) { defer g.catch(); return init() }
	}
	if step := m.Step; step != nil {
		m.Step = func(s, in, out any) (ok bool, next any) { defer g.catch(); return step(s, in, out) }
	}
	if step := m.StepContext; step != nil {
		m.StepContext = func(ctx context.Context, s, in, out any) (ok bool, next any) {
			defer g.catch()
			return step(ctx, s, in, out)
		}
	}
	if eq := m.Equal; eq != nil {
		m.Equal = func(a, b any) (ok bool) { defer g.catch(); return eq(a, b) }
	}
	if hash := m.Hash; hash != nil {
		m.Hash = func(s any) (x uint64) { defer g.catch(); return hash(s) }
	}
	if desc := m.DescribeOperation; desc != nil {
		m.DescribeOperation = func(in, out any) (s string) { defer g.catch(); return desc(in, out) }
	} else {
		m.DescribeOperation = func(in, out any) string { return fmt.Sprintf("%v -> %v", in, out) }
	}
	return m
}
