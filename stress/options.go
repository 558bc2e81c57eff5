package stress

import (
	"fmt"
	"math"
	"runtime"
	"time"

	"go.uber.org/goleak"
)

// Defaults used when the corresponding Option is left out.
const (
	// DefaultOps is the number of operations a Run performs when neither
	// Ops nor Duration is given.
	DefaultOps = 10_000
	// DefaultYieldRate is the probability of a runtime.Gosched before each
	// operation and at each Worker.Yield.
	DefaultYieldRate = 1.0 / 8
	// DefaultHistorySize bounds the operations a round records in a History,
	// so that checking it takes seconds, not hours.
	DefaultHistorySize = 500
	// DefaultCheckTimeout bounds one linearizability check.
	DefaultCheckTimeout = 10 * time.Second
	// DefaultTimeout is how long a Run may take beyond its Duration before
	// the harness reports it as hung.
	DefaultTimeout = time.Minute
)

// Option configures a Harness. Invalid values are reported by New as test
// errors, not panics.
type Option func(*config)

type config struct {
	goroutines   int
	ops          int
	duration     time.Duration
	seed         uint64
	seedSet      bool
	yield        float64
	timeout      time.Duration
	historySize  int
	checkTimeout time.Duration
	leakCheck    bool
	leakOpts     []goleak.Option
	errs         []string
}

func defaultConfig() config {
	return config{
		goroutines:   4 * runtime.GOMAXPROCS(0),
		yield:        DefaultYieldRate,
		historySize:  DefaultHistorySize,
		checkTimeout: DefaultCheckTimeout,
		leakCheck:    true,
	}
}

func (c *config) errorf(format string, args ...any) {
	c.errs = append(c.errs, fmt.Sprintf(format, args...))
}

// checked returns an Option that sets a field to v, recording the error
// "name(v): why" when v is not ok.
func checked[V any](name string, v V, ok bool, why string, field func(*config) *V) Option {
	return func(c *config) {
		if !ok {
			c.errorf("%s(%v): %s", name, v, why)
		}
		*field(c) = v
	}
}

// Goroutines sets how many workers a Run starts (default 4×GOMAXPROCS, so
// that workers are preempted inside operations). n must be at least 1.
func Goroutines(n int) Option {
	return checked("Goroutines", n, n >= 1, "a run needs at least one goroutine", func(c *config) *int { return &c.goroutines })
}

// Ops sets the number of operations per Run, shared among the workers
// (default DefaultOps when Duration is not given either). With Duration
// too, a Run stops at whichever limit comes first. n must be at least 1.
func Ops(n int) Option {
	return checked("Ops", n, n >= 1, "a run needs at least one operation", func(c *config) *int { return &c.ops })
}

// Duration makes each Run last d (or until Ops operations, if also given).
// d must be positive.
func Duration(d time.Duration) Option {
	return checked("Duration", d, d > 0, "must be positive", func(c *config) *time.Duration { return &c.duration })
}

// Seed fixes the seed. Without it the seed comes from -stress.seed or
// STRESS_SEED, or is random; a seed given there overrides this option, so
// that any failing run can be replayed.
func Seed(seed uint64) Option {
	return func(c *config) { c.seed, c.seedSet = seed, true }
}

// YieldRate sets the probability, 0 to 1, that a worker calls
// runtime.Gosched before an operation and at each Worker.Yield (default
// DefaultYieldRate). Higher rates widen race windows and slow the run.
func YieldRate(p float64) Option {
	return checked("YieldRate", p, p >= 0 && p <= 1, "must be between 0 and 1", func(c *config) *float64 { return &c.yield })
}

// Timeout sets how long a Run may take beyond its Duration before the
// harness reports it as hung, with every goroutine's stack (default
// DefaultTimeout, capped by the test's deadline). d must be positive.
func Timeout(d time.Duration) Option {
	return checked("Timeout", d, d > 0, "must be positive", func(c *config) *time.Duration { return &c.timeout })
}

// HistorySize bounds the operations one round of a Run records in a
// History (default DefaultHistorySize): while a History is attached, a Run
// with more Ops is split into rounds of n operations, or capped at n if
// its mix cannot be split (see Run). n must be at least 1.
func HistorySize(n int) Option {
	return checked("HistorySize", n, n >= 1, "must be at least 1", func(c *config) *int { return &c.historySize })
}

// CheckTimeout bounds each linearizability check (default
// DefaultCheckTimeout). A check that times out is logged as inconclusive,
// not failed. d must be positive.
func CheckTimeout(d time.Duration) Option {
	return checked("CheckTimeout", d, d > 0, "must be positive", func(c *config) *time.Duration { return &c.checkTimeout })
}

// IgnoreLeaks adds goleak options (goleak.IgnoreTopFunction and the like)
// to the leak check the harness runs when the test ends.
func IgnoreLeaks(opts ...goleak.Option) Option {
	return func(c *config) { c.leakOpts = append(c.leakOpts, opts...) }
}

// NoLeakCheck turns the leak check off. Use it in tests that run in
// parallel with others: goleak cannot tell whose goroutine it sees.
func NoLeakCheck() Option {
	return func(c *config) { c.leakCheck = false }
}

// scale multiplies the run length by STRESS_SCALE / -stress.scale (soak runs).
func (c *config) scale(k float64) {
	if k == 1 {
		return
	}
	if c.ops > 0 {
		c.ops = max(1, int(math.Min(float64(c.ops)*k, math.MaxInt32)))
	}
	if c.duration > 0 { // a positive duration stays positive and finite: 0 means no limit
		c.duration = time.Duration(min(max(float64(c.duration)*k, 1), math.MaxInt64/2))
	}
}
