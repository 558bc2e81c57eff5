package offheap

import (
	"context"
	"testing"
	"time"

	"github.com/go-reclaim/reclaim/epoch"
)

// SetGeneration lets the tests reach the generation limit without 2^31
// Alloc/Free cycles.
func (s *Slab[T]) SetGeneration(h Handle, gen uint32) Handle {
	s.p.meta(h.Index()).gen.Store(gen)
	return makeHandle(h.Index(), gen)
}

// The helpers below serve the tests of both packages, offheap's own and
// offheap_test's.

// NewTestCollector returns a Collector that the test closes at its end,
// and fails the test if Close reports an error.
func NewTestCollector(t testing.TB) *epoch.Collector {
	t.Helper()
	c := epoch.New()
	t.Cleanup(func() {
		if err := c.Close(); err != nil {
			t.Errorf("collector Close: %v", err)
		}
	})
	return c
}

// AwaitGrace waits until everything freed so far has finished its grace
// period, failing the test after 5 s.
func AwaitGrace(t testing.TB, c *epoch.Collector) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.Barrier(ctx); err != nil {
		t.Fatalf("Barrier: %v", err)
	}
}

// FreeInGuard frees h under a guard of its own.
func FreeInGuard[T any](c *epoch.Collector, s *Slab[T], h Handle) error {
	g := c.Enter()
	defer g.Exit()
	return s.Free(g, h)
}
