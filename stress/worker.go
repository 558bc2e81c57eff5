package stress

import (
	"fmt"
	"math/rand/v2"
	"runtime"
)

// Worker is one goroutine of a Run. Operations receive it to draw random
// numbers, inject yield points and report failures. It implements
// require.TestingT, so require.Equal(w, ...) works inside an operation:
// FailNow ends this worker only (runtime.Goexit) and stops the Run.
//
// A Worker belongs to its goroutine; do not share it with others.
type Worker struct {
	h      *Harness
	r      *run
	id     int
	rng    *rand.Rand
	op     int     // index of the operation in progress
	done   int64   // operations started
	counts []int64 // operations started, by index in the plan
	panics int64   // injected panics recovered
}

func newWorker(h *Harness, r *run, id int, stream uint64) *Worker {
	return &Worker{
		h: h, r: r, id: id,
		rng:    rand.New(rand.NewPCG(h.seed, stream)),
		counts: make([]int64, len(r.plan.ops)),
	}
}

// ID is the worker's index, 0 to Harness.Goroutines(); Goroutines() is the
// worker that runs Finally operations.
func (w *Worker) ID() int { return w.id }

// Rand is the worker's random source: a PCG seeded from the harness seed,
// the Run's index and the worker's ID, so a replayed seed draws the same
// numbers as long as the draws do not depend on what other workers did.
func (w *Worker) Rand() *rand.Rand { return w.rng }

// Harness is the harness running this worker.
func (w *Worker) Harness() *Harness { return w.h }

// Yield is an injected yield point: with the harness's YieldRate it calls
// runtime.Gosched, so that other workers run in the middle of this
// operation. Reclamation bugs hide in the window between reading a shared
// pointer and the step that trusts it, and a yield widens that window
// from nanoseconds to a scheduler slice. Put one:
//
//   - after loading (or protecting) a node and before dereferencing it:
//     other workers retire and reclaim it there, which a missing grace
//     period or a protection that is not re-validated turns into a use
//     after reclaim;
//   - after reading what a CAS will install (a node's next) and before the
//     CAS: the node may be removed, recycled and put back there, and the
//     CAS then succeeds with a stale value (ABA);
//   - not at the start or end of an operation, where it adds nothing: the
//     harness already yields before each operation.
//
// The Example_epochPool and Example_hazardPool examples show both places
// in a Treiber stack.
func (w *Worker) Yield() {
	if y := w.h.cfg.yield; y > 0 && w.rng.Float64() < y {
		runtime.Gosched()
	}
}

// Stopped reports whether the Run is stopping (its limit was reached or a
// failure was reported); long operations such as stalls may end early.
func (w *Worker) Stopped() bool { return w.r.stopped.Load() }

// Errorf reports a failure, naming the worker and the operation, with the
// seed; it stops the Run. The worker goes on with its operation.
func (w *Worker) Errorf(format string, args ...any) {
	w.h.report(w.prefix() + fmt.Sprintf(format, args...))
}

// Fatalf is Errorf followed by FailNow.
func (w *Worker) Fatalf(format string, args ...any) {
	w.Errorf(format, args...)
	w.FailNow()
}

// FailNow marks the test failed and ends this worker (runtime.Goexit).
// The other workers stop before their next operation.
func (w *Worker) FailNow() {
	w.h.Fail()
	w.r.stop()
	runtime.Goexit()
}

// Helper marks the calling function as a helper, as the package-level
// Helper does: reports of CheckRead, CheckBytes and a Ledger name its
// caller instead. It also makes a Worker a require.TestingT.
func (w *Worker) Helper() { markHelper(2) }

// Logf logs through the test, naming the worker and the operation.
func (w *Worker) Logf(format string, args ...any) {
	w.h.Logf("%s", w.prefix()+fmt.Sprintf(format, args...))
}

func (w *Worker) prefix() string {
	return fmt.Sprintf("worker %d, %s #%d: ", w.id, w.r.plan.ops[w.op].Name, w.done)
}
