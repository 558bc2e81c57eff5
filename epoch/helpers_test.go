package epoch_test

import (
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
