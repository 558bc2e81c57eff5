package offheap_test

import (
	"testing"

	"github.com/go-reclaim/reclaim/epoch"
	"github.com/go-reclaim/reclaim/offheap"
)

type point struct {
	X, Y int64
	Tag  [4]byte
}

func newCollector(t testing.TB) *epoch.Collector { return offheap.NewTestCollector(t) }

func newSlab[T any](t testing.TB, c *epoch.Collector, capacity int, opts ...offheap.Option) *offheap.Slab[T] {
	t.Helper()
	s, err := offheap.NewSlab[T](c, capacity, opts...)
	if err != nil {
		t.Fatalf("NewSlab: %v", err)
	}
	return s
}

// barrier waits until everything freed so far has finished its grace period.
func barrier(t testing.TB, c *epoch.Collector) { t.Helper(); offheap.AwaitGrace(t, c) }

func mustAlloc[T any](t testing.TB, s *offheap.Slab[T]) (offheap.Handle, *T) {
	t.Helper()
	h, p, err := s.Alloc()
	if err != nil {
		t.Fatalf("Alloc: %v", err)
	}
	return h, p
}

func free[T any](c *epoch.Collector, s *offheap.Slab[T], h offheap.Handle) error {
	return offheap.FreeInGuard(c, s, h)
}

func get[T any](c *epoch.Collector, s *offheap.Slab[T], h offheap.Handle) (T, error) {
	g := c.Enter()
	defer g.Exit()
	p, err := s.Get(g, h)
	if err != nil {
		var zero T
		return zero, err
	}
	return *p, nil
}
