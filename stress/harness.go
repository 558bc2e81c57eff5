package stress

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// maxReports bounds the failures a Harness prints; a broken structure can
// fail on every operation of every worker.
const maxReports = 20

// Harness runs the stress tests of one test. It is a testing.TB (the test's
// own, embedded) whose failures end with the seed and the command that
// replays it, so require.NoError(h, ...) and NewLedger(h, ...) report the
// seed too. Error, Errorf, Fatal and Fatalf also stop the Run in progress.
// A broken structure can fail on every operation, so a Harness prints its
// first 20 failures and logs how many more there were when the test ends.
//
// Create one with New at the start of a test. A Harness belongs to the
// test's goroutine; Errorf and Error may be called from any goroutine until
// the test ends.
type Harness struct {
	testing.TB
	cfg  config
	seed uint64

	runs       int                 // Runs started: each gets its own random streams
	capLogged  bool                // the HistorySize cap on Runs was logged
	current    atomic.Pointer[run] // the Run in progress, stopped by any failure
	reported   atomic.Int32
	ended      atomic.Bool // the test is over: late reports from hung workers are dropped
	mu         sync.Mutex
	histories  []*History
	historyUse atomic.Bool     // some History is attached: Runs are bounded by HistorySize
	leakBase   []goleak.Option // the goroutines New found, and leaks already reported
}

// New returns a Harness for tb configured by opts. An invalid option, seed
// or scale fails the test with a message naming it (tb.Fatalf).
//
// Unless NoLeakCheck is given, New records the goroutines that exist now
// and, when the test ends (tb.Cleanup), reports any other goroutine still
// running, with goleak; each Run also reports the goroutines its operations
// started and left running. The checks retry for a moment, so goroutines
// that are about to exit are not reported; IgnoreLeaks exempts others.
// coverWarning logs, once per test binary, that -cover blinds -race.
var coverWarning sync.Once

func New(tb testing.TB, opts ...Option) *Harness {
	if tb == nil {
		panic("stress.New: nil testing.TB")
	}
	tb.Helper()
	cfg := defaultConfig()
	for i, o := range opts {
		if o == nil {
			cfg.errorf("option %d is nil", i)
			continue
		}
		o(&cfg)
	}
	h := &Harness{TB: tb, cfg: cfg}
	h.seed = chooseSeed(&h.cfg)
	if h.cfg.ops == 0 && h.cfg.duration == 0 {
		h.cfg.ops = DefaultOps
	}
	h.cfg.scale(chooseScale(&h.cfg))
	if len(h.cfg.errs) > 0 {
		tb.Fatalf("stress: invalid configuration:\n\t%s", strings.Join(h.cfg.errs, "\n\t"))
		return h
	}
	if h.cfg.leakCheck {
		h.leakBase = []goleak.Option{goleak.IgnoreCurrent()}
	}
	if RaceEnabled && testing.CoverMode() != "" {
		coverWarning.Do(func() {
			tb.Helper()
			tb.Logf("stress: coverage is on under -race: its atomic counters hide most data races from the race detector in the covered packages (a read after Exit, say); the ledger and CheckRead still work. Run the stress tests without -cover too (see the package documentation).")
		})
	}
	tb.Cleanup(func() {
		h.checkLeaks(h.leakBase, "at the end of the test")
		if n := h.reported.Load() - maxReports; n > 0 {
			tb.Logf("stress: %d more failures not shown", n)
		}
		if h.reported.Load() == 0 && tb.Failed() { // the race detector, or the test's own check
			tb.Logf("stress: the test failed, not through this harness's reports (if a subtest's harness reported, replay that one instead); %s", rerun(h.Name(), h.seed))
		}
		h.ended.Store(true)
	})
	return h
}

// Seed is the seed of this harness's random streams.
func (h *Harness) Seed() uint64 { return h.seed }

// Goroutines is the number of workers each Run starts. Workers have IDs 0
// to Goroutines()-1; Finally operations run on a worker with ID
// Goroutines(), so slices indexed by worker ID need Goroutines()+1 entries.
func (h *Harness) Goroutines() int { return h.cfg.goroutines }

// Errorf reports a failure with the seed and stops the Run in progress.
func (h *Harness) Errorf(format string, args ...any) {
	h.TB.Helper()
	h.report(fmt.Sprintf(format, args...))
}

// Error is Errorf with the arguments formatted as by fmt.Sprintln.
func (h *Harness) Error(args ...any) {
	h.TB.Helper()
	h.report(strings.TrimSuffix(fmt.Sprintln(args...), "\n"))
}

// Fatalf is Errorf followed by FailNow: call it from the test's goroutine.
func (h *Harness) Fatalf(format string, args ...any) {
	h.TB.Helper()
	h.report(fmt.Sprintf(format, args...))
	h.TB.FailNow()
}

// Fatal is Error followed by FailNow: call it from the test's goroutine.
func (h *Harness) Fatal(args ...any) {
	h.TB.Helper()
	h.report(strings.TrimSuffix(fmt.Sprintln(args...), "\n"))
	h.TB.FailNow()
}

// report prints msg with the replay line, unless too many came before.
func (h *Harness) report(msg string) {
	h.TB.Helper()
	if r := h.current.Load(); r != nil {
		r.stop()
	}
	if h.ended.Load() {
		return // a hung worker woke up after the test ended
	}
	if h.reported.Add(1) > maxReports {
		h.TB.Fail()
		return
	}
	h.TB.Errorf("%s\n%s", msg, rerun(h.Name(), h.seed))
}

// checkLeaks reports goroutines that base does not ignore, once: they are
// ignored from now on.
func (h *Harness) checkLeaks(base []goleak.Option, when string) {
	if base == nil {
		return
	}
	if err := goleak.Find(slices.Concat(base, h.cfg.leakOpts)...); err != nil {
		h.Errorf("stress: goroutines still running %s: %v", when, err)
		h.leakBase = append(h.leakBase, goleak.IgnoreCurrent())
	}
}

// attach registers hist, so that every Run bounds and then checks it.
func (h *Harness) attach(hist *History) {
	h.mu.Lock()
	h.histories = append(h.histories, hist)
	h.mu.Unlock()
	h.historyUse.Store(true)
}

// checkHistories checks and empties every attached History.
func (h *Harness) checkHistories() {
	h.mu.Lock()
	hs := append([]*History(nil), h.histories...)
	h.mu.Unlock()
	for _, hist := range hs {
		hist.Check()
	}
}

// runLimit is how long a Run may take before it counts as hung.
func (h *Harness) runLimit() time.Duration {
	limit := h.cfg.duration + DefaultTimeout
	if h.cfg.timeout > 0 {
		limit = h.cfg.duration + h.cfg.timeout
	}
	if d, ok := h.TB.(interface{ Deadline() (time.Time, bool) }); ok {
		if dl, ok := d.Deadline(); ok {
			limit = min(limit, max(time.Until(dl)*9/10, time.Second))
		}
	}
	return limit
}
