package epoch_test

import (
	"os"
	"sync/atomic"
	"testing"

	"github.com/go-reclaim/reclaim/epoch"
)

type atomicIntPtr = atomic.Pointer[int]

type item struct {
	value int
}

// forModes runs test as a subtest in the classic mode and in the robust
// one (WithRobust), passing the options that select the mode.
func forModes(t *testing.T, test func(t *testing.T, mode []epoch.Option)) {
	t.Run("classic", func(t *testing.T) { test(t, nil) })
	t.Run("robust", func(t *testing.T) { test(t, []epoch.Option{epoch.WithRobust()}) })
}

// robustSuite is set by RECLAIM_TEST_MODE=robust: the tests that create
// their Collector with newCollector then run on the robust mode, so that
// every behaviour they check (Close, Barrier, Flush, aging, claims, faults,
// Stats) is checked there too. CI runs the package both ways.
var robustSuite = os.Getenv("RECLAIM_TEST_MODE") == "robust"

// newCollector is epoch.New, in the robust mode under RECLAIM_TEST_MODE.
func newCollector(opts ...epoch.Option) *epoch.Collector {
	if robustSuite {
		opts = append(opts, epoch.WithRobust())
	}
	return epoch.New(opts...)
}
