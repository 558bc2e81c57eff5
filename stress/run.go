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
	// operations not included). It is 0 on a Run that hung, as are Counts
	// and Panics: the hung workers' counters are still moving.
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
	// Capped is true if the Run stopped after HistorySize operations,
	// short of its Ops or Duration, because a History is attached and the
	// mix has no FinallyReset operation to split the Run into rounds.
	Capped bool
}

// run is the state shared by the workers of one Run.
type run struct {
	plan    *plan
	stopped atomic.Bool
}

func (r *run) stop() { r.stopped.Store(true) }

// Run starts Harness.Goroutines() workers that draw operations from mix
// until the Run's limit (Ops or Duration) is reached or a failure is
// reported, then runs the Finally operations, then checks every attached
// History. It returns once all of that is done, or when the Run's time
// limit passes (see Timeout), with every stack in the failure.
//
// While a History is attached, a Run asking for more than HistorySize
// operations is split into rounds of HistorySize: each round's workers
// stop, the Finally operations run, and the round's history is checked,
// before the next round starts on the same structure. That needs a
// Finally operation that empties the structure (FinallyReset; StackMix and
// QueueMix have one), since each check starts from the model's empty
// state. Without one, the Run stops after HistorySize operations, logs
// that once, and says so in Result.Capped. Each round has its own time
// limit.
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
	rounds, roundOps, capped := h.rounds(p)
	if capped && !h.capLogged {
		h.capLogged = true
		h.Logf("stress: a History is attached and the mix has no FinallyReset operation (such as StackMix's drain) to start a new round from, so each Run stops after HistorySize=%d operations%s; raise HistorySize, or call Run again on a fresh structure for more",
			h.cfg.historySize, h.askedFor())
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
	if d := h.cfg.duration; d > 0 {
		t := time.AfterFunc(d, r.stop)
		defer t.Stop()
	}
	hung, done := false, 0
	for round := 0; round < rounds && !hung && (round == 0 || !r.stopped.Load()); round++ {
		ops := min(roundOps, h.cfg.ops-done)
		if h.cfg.ops == 0 {
			ops = roundOps
		}
		done += ops
		hung = h.round(p, r, workers, ops)
		if !hung {
			h.checkHistories()
		}
	}
	if !hung {
		h.checkLeaks(leakBase, "after the run (started by its operations)")
	}

	res := Result{Seed: h.seed, Counts: make(map[string]int64, len(p.ops)), Elapsed: time.Since(start), Hung: hung, Capped: capped}
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

// rounds is how a Run is split: into rounds of at most roundOps drawn
// operations (math.MaxInt: no bound but the Duration), each ended by the
// Finally operations and a check of the attached histories. Without a
// History a Run is one round. With one, a round holds at most HistorySize
// operations; a Run asking for more is split into rounds if the mix can
// start each round from an empty structure (FinallyReset), and is capped
// at HistorySize otherwise.
func (h *Harness) rounds(p *plan) (rounds, roundOps int, capped bool) {
	ops := h.cfg.ops
	if ops == 0 {
		ops = math.MaxInt
	}
	size := h.cfg.historySize
	switch {
	case !h.historyUse.Load() || ops <= size:
		return 1, ops, false
	case !p.resets:
		return 1, size, true
	case h.cfg.ops == 0:
		return math.MaxInt, size, false // rounds until the Duration passes
	}
	return (ops + size - 1) / size, size, false
}

// askedFor names the Ops or Duration a capped Run was asked for.
func (h *Harness) askedFor() string {
	if h.cfg.ops > 0 {
		return fmt.Sprintf(", not the %d of Ops", h.cfg.ops)
	}
	return fmt.Sprintf(", not for the Duration of %v", h.cfg.duration)
}

// round runs ops drawn operations on the workers, then the Finally
// operations, and reports whether a worker hung.
func (h *Harness) round(p *plan, r *run, workers []*Worker, ops int) (hung bool) {
	n := h.cfg.goroutines
	deadline := time.Now().Add(h.runLimit())
	var wg sync.WaitGroup
	for i := range n {
		w, quota := workers[i], workers[i].done+share(ops, n, i)
		wg.Go(func() {
			for w.done < quota && !r.stopped.Load() {
				w.Yield()
				w.do(p.pick(w.rng))
			}
		})
	}
	hung = !wait(&wg, deadline)
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
	}
	return hung
}

// share is worker i's share of ops operations among n workers.
func share(ops, n, i int) int64 {
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
	if r.Capped {
		s += ", capped at HistorySize"
	}
	return s
}
