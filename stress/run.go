package stress

import (
	"fmt"
	"math"
	"runtime"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/goleak"
)

// Result summarizes a Run.
type Result struct {
	Seed uint64
	// Ops is the number of operations the workers started (Finally
	// operations not included).
	Ops int64
	// Counts is the number of times each operation ran, by name.
	Counts map[string]int64
	// Panics counts the injected panics (see PanicAfter) that operations
	// raised and the workers recovered.
	Panics int64
	// Elapsed is the wall time of the Run.
	Elapsed time.Duration
	// Hung is true if a worker was still inside an operation when the
	// Run's time limit passed; the Run returned without it.
	Hung bool
}

// run is the state shared by the workers of one Run.
type run struct {
	plan    *plan
	stopped atomic.Bool
}

func (r *run) stop() { r.stopped.Store(true) }

// Run starts Harness.Goroutines() workers that draw operations from mix
// until the Run's limit (Ops, Duration, or a full History) is reached or a
// failure is reported, then runs the Finally operations, then checks every
// attached History. It returns once all of that is done, or when the Run's
// time limit passes (see Timeout), with every stack in the failure.
//
// Each worker gets Ops/Goroutines operations (the first workers one more
// when it does not divide evenly), calls runtime.Gosched before an
// operation with probability YieldRate, and recovers panics: an injected
// panic (PanicAfter) is counted and the worker goes on; any other panic is
// reported as a failure with its stack, and the worker stops. An invalid
// mix fails the test (Fatalf).
//
// Run may be called several times, for example once per fresh structure;
// each call draws from new random streams derived from the seed. Unless
// NoLeakCheck is given, goroutines that the operations started and that
// are still running when the Run ends are reported as leaks.
func (h *Harness) Run(mix Mix) Result {
	h.TB.Helper()
	p, err := mix.compile()
	if err != nil {
		h.TB.Fatalf("stress: %v", err)
		return Result{Seed: h.seed}
	}
	n := h.cfg.goroutines
	r := &run{plan: p}
	for _, op := range p.ops {
		if op.begin != nil {
			op.begin(n)
		}
	}
	if h.historyUse.Load() && (h.cfg.ops == 0 || h.cfg.ops > h.cfg.historySize) && !h.capLogged {
		h.capLogged = true
		h.Logf("stress: a History is attached, so each Run stops after HistorySize=%d operations; run more rounds for more", h.cfg.historySize)
	}
	index := uint64(h.runs) << 32
	h.runs++
	workers := make([]*Worker, n+1)
	for i := range workers {
		workers[i] = newWorker(h, r, i, index|uint64(i))
	}
	var leakBase []goleak.Option
	if h.cfg.leakCheck {
		leakBase = []goleak.Option{goleak.IgnoreCurrent()}
	}
	h.current.Store(r)
	defer h.current.Store(nil)

	start := time.Now()
	deadline := start.Add(h.runLimit())
	if d := h.cfg.duration; d > 0 {
		t := time.AfterFunc(d, r.stop)
		defer t.Stop()
	}
	var wg sync.WaitGroup
	for i := range n {
		w, quota := workers[i], h.quota(i)
		wg.Go(func() {
			for w.done < quota && !r.stopped.Load() {
				w.Yield()
				w.do(p.pick(w.rng))
			}
		})
	}
	hung := !wait(&wg, deadline)
	for _, i := range p.finals {
		if hung {
			break
		}
		w := workers[n]
		wg.Go(func() { w.do(i) })
		hung = !wait(&wg, deadline)
	}
	if hung {
		r.stop()
		buf := make([]byte, 1<<20)
		buf = buf[:runtime.Stack(buf, true)]
		h.Errorf("stress: the run did not finish within %v: a worker is stuck in an operation (deadlock, livelock, a cycle?); every goroutine:\n%s",
			h.runLimit(), buf)
	} else {
		h.checkHistories()
		h.checkLeaks(leakBase, "after the run (started by its operations)")
	}

	res := Result{Seed: h.seed, Counts: make(map[string]int64, len(p.ops)), Elapsed: time.Since(start), Hung: hung}
	if hung {
		return res // the workers' counters are still moving
	}
	for _, w := range workers {
		if w.id < n {
			res.Ops += w.done
		}
		res.Panics += w.panics
		for i, c := range w.counts {
			res.Counts[p.ops[i].Name] += c
		}
	}
	return res
}

// quota is worker i's share of the Run's operations.
func (h *Harness) quota(i int) int64 {
	ops, n := h.cfg.ops, h.cfg.goroutines
	if ops == 0 {
		ops = math.MaxInt
	}
	if h.historyUse.Load() {
		ops = min(ops, h.cfg.historySize)
	}
	q := ops / n
	if i < ops%n {
		q++
	}
	return int64(q)
}

// wait waits for wg until deadline; false if the deadline came first.
func wait(wg *sync.WaitGroup, deadline time.Time) bool {
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	t := time.NewTimer(time.Until(deadline))
	defer t.Stop()
	select {
	case <-done:
		return true
	case <-t.C:
		return false
	}
}

// do runs operation i, recovering panics.
func (w *Worker) do(i int) {
	w.op = i
	w.done++
	w.counts[i]++
	defer func() {
		if p := recover(); p != nil {
			if _, ok := p.(InjectedPanic); ok {
				w.panics++
				return
			}
			w.Errorf("panic: %v\n%s", p, debug.Stack())
		}
	}()
	w.r.plan.ops[i].Do(w)
}

// String describes the result in one line.
func (r Result) String() string {
	s := fmt.Sprintf("seed=%d: %d ops in %v", r.Seed, r.Ops, r.Elapsed.Round(time.Millisecond))
	if r.Panics > 0 {
		s += fmt.Sprintf(", %d injected panics", r.Panics)
	}
	if r.Hung {
		s += ", hung"
	}
	return s
}
