//go:build !race

// The race detector's sync.Pool drops items at random, so allocation counts
// are only meaningful without it; .ci/run runs these tests separately.

package hashmap_test

import (
	"testing"

	"github.com/go-reclaim/reclaim/container/internal/ctest"
)

// Once nodes circulate, the pool variants allocate nothing, a replacing
// Put included.
func TestAllocsSteadyState(t *testing.T) {
	ctest.Allocs(t, func(s ctest.Scheme) func() (kv, func()) { return open(s, 16) }, func(m kv, i int) {
		m.Put(i%64, i)
		m.Get(i % 64)
		m.Put(i%64, i+1)
		m.Delete((i + 32) % 64)
	})
}
