package offheap_test

import (
	"context"
	"testing"
	"time"

	"github.com/go-reclaim/reclaim/epoch"
	"github.com/go-reclaim/reclaim/offheap"
)

type point struct {
	X, Y int64
	Tag  [4]byte
}

func newCollector(t testing.TB) *epoch.Collector {
	t.Helper()
	c := epoch.New()
	t.Cleanup(func() {
		if err := c.Close(); err != nil {
			t.Errorf("collector Close: %v", err)
		}
	})
	return c
}

func newSlab[T any](t testing.TB, c *epoch.Collector, capacity int, opts ...offheap.Option) *offheap.Slab[T] {
	t.Helper()
	s, err := offheap.NewSlab[T](c, capacity, opts...)
	if err != nil {
		t.Fatalf("NewSlab: %v", err)
	}
	return s
}

// barrier waits until everything freed so far has finished its grace period.
func barrier(t testing.TB, c *epoch.Collector) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.Barrier(ctx); err != nil {
		t.Fatalf("Barrier: %v", err)
	}
}

func mustAlloc[T any](t testing.TB, s *offheap.Slab[T]) (offheap.Handle, *T) {
	t.Helper()
	h, p, err := s.Alloc()
	if err != nil {
		t.Fatalf("Alloc: %v", err)
	}
	return h, p
}

func free[T any](c *epoch.Collector, s *offheap.Slab[T], h offheap.Handle) error {
	g := c.Enter()
	defer g.Exit()
	return s.Free(g, h)
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
