package offheap_test

import (
	"errors"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/go-reclaim/reclaim/offheap"
)

// An Alloc that fails because its region does not fit must not make a
// concurrent Alloc of a region that does fit fail with ErrFull (Alloc used
// to add the size to the shared budget before it checked it and took it
// back after, so for that moment the budget looked spent; an independent
// review found it, and this test failed in every run).
func TestArenaFailedAllocLeavesTheBudget(t *testing.T) {
	c := newCollector(t)
	const limit = 1 << 20
	a := newArena(t, c, limit, limit)
	// Hold all but 16 bytes: a 16-byte region always fits, a 512 KiB one never.
	var held []offheap.Ref
	for _, n := range []int{limit / 2, limit / 4, limit / 8, limit / 16, limit / 32, limit / 64} {
		r, _, err := a.Alloc(n)
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, r)
	}
	for a.Used() < limit-16 {
		r, _, err := a.Alloc(16)
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, r)
	}
	var stop atomic.Bool
	var wg sync.WaitGroup
	wg.Go(func() {
		for !stop.Load() {
			if _, _, err := a.Alloc(limit / 2); !errors.Is(err, offheap.ErrFull) {
				t.Errorf("Alloc(%d): %v; want ErrFull", limit/2, err)
				return
			}
		}
	})
	var spurious, tries int
	for range 20000 {
		tries++
		r, _, err := a.Alloc(16)
		if err != nil {
			if !errors.Is(err, offheap.ErrFull) {
				t.Fatal(err)
			}
			spurious++
			continue
		}
		if err := freeRef(c, a, r); err != nil {
			t.Fatal(err)
		}
		barrier(t, c) // its bytes leave the budget
	}
	stop.Store(true)
	wg.Wait()
	for _, r := range held {
		if err := freeRef(c, a, r); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if spurious > 0 {
		t.Fatalf("%d of %d Allocs of a 16-byte region that fits the budget failed with ErrFull", spurious, tries)
	}
}
