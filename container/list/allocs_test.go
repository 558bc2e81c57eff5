//go:build !race

// The race detector's sync.Pool drops items at random, so allocation counts
// are only meaningful without it; .ci/run runs these tests separately.

package list_test

import (
	"testing"

	"github.com/go-reclaim/reclaim/container/internal/ctest"
)

// Once nodes circulate, the pool variants allocate nothing.
func TestAllocsSteadyState(t *testing.T) {
	ctest.Allocs(t, open, func(s set, i int) {
		s.Insert(i % 64)
		s.Contains(i % 64)
		s.Delete((i + 32) % 64)
	})
}
