//go:build !race

package check_test

import (
	"testing"

	"github.com/go-reclaim/reclaim/container/hashmap"
	"github.com/go-reclaim/reclaim/container/list"
	"github.com/go-reclaim/reclaim/container/queue"
	"github.com/go-reclaim/reclaim/container/stack"
	"github.com/go-reclaim/reclaim/hazard"
)

// The checks keep the hazard pointers they are given on the caller's
// stack: a caller that acquires them per operation allocates nothing (a
// panic value that held them made each Acquire a heap allocation). Run
// without the race detector, whose sync.Pool drops items at random.
func TestAllocsHazardPointersAcquiredPerOperation(t *testing.T) {
	d := hazard.New()
	defer d.Close()
	st, q, l, m := stack.NewHazard[int](d), queue.NewHazard[int](d), list.NewHazard[int](d), hashmap.NewHazard[int, int](d, 4)
	for name, op := range map[string]func(){
		"stack.Hazard.Pop":     func() { hp := d.Acquire(); st.Pop(hp); hp.Release() },
		"queue.Hazard.Dequeue": func() { a := d.AcquireArray(queue.HazardPointers); q.Dequeue(a); a.Release() },
		"list.Hazard.Contains": func() { a := d.AcquireArray(list.HazardPointers); l.Contains(a, 1); a.Release() },
		"hashmap.Hazard.Get":   func() { a := d.AcquireArray(hashmap.HazardPointers); m.Get(a, 1); a.Release() },
	} {
		op()
		if n := testing.AllocsPerRun(1000, op); n != 0 {
			t.Errorf("%s with hazard pointers acquired for it: %.1f allocs/op, want 0", name, n)
		}
	}
}
