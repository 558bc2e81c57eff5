package offheap_test

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-reclaim/reclaim/offheap"
)

// record's contents are a function of the handle that owns it, so a reader
// can tell whether the slot it resolved was reused or poisoned under it.
type record struct {
	Owner   uint64
	Payload [6]uint64
}

func fill(r *record, h offheap.Handle) {
	r.Owner = uint64(h)
	for i := range r.Payload {
		r.Payload[i] = uint64(h) * uint64(i+3)
	}
}

func verify(r *record, h offheap.Handle) error {
	if r.Owner != uint64(h) {
		return fmt.Errorf("slot of %v now owned by %#x (reused or poisoned under an open guard)", h, r.Owner)
	}
	for i, v := range r.Payload {
		if v != uint64(h)*uint64(i+3) {
			return fmt.Errorf("slot of %v: payload[%d] = %#x (reused or poisoned under an open guard)", h, i, v)
		}
	}
	return nil
}

// Writers replace published handles and free the old ones while readers
// resolve handles under guards and check the values repeatedly, yielding in
// between. A slot reused or poisoned before its grace period is seen.
func TestConcurrentReadersAndFrees(t *testing.T) {
	for _, mode := range []struct {
		name string
		opts []offheap.Option
	}{{"unchecked", nil}, {"checked", []offheap.Option{offheap.WithChecks()}}} {
		t.Run(mode.name, func(t *testing.T) {
			c := newCollector(t)
			const cells, writers, readers = 16, 4, 4
			// Capacity: published cells plus what waits for its grace period.
			s := newSlab[record](t, c, 4096, mode.opts...)
			var shared [cells]atomic.Uint64
			for i := range shared {
				h, p := mustAlloc(t, s)
				fill(p, h)
				shared[i].Store(uint64(h))
			}
			deadline := time.Now().Add(50 * time.Millisecond)
			var wg sync.WaitGroup
			var failed atomic.Bool
			var reads, frees atomic.Int64
			fail := func(err error) {
				if failed.CompareAndSwap(false, true) {
					t.Error(err)
				}
			}
			for w := range writers {
				wg.Go(func() {
					rng := rand.New(rand.NewPCG(uint64(w), 1))
					for time.Now().Before(deadline) && !failed.Load() {
						h, p, err := s.Alloc()
						if err != nil {
							runtime.Gosched() // ErrFull: let grace periods end
							continue
						}
						fill(p, h)
						g := c.Enter()
						old := offheap.Handle(shared[rng.IntN(cells)].Swap(uint64(h)))
						if err := s.Free(g, old); err != nil {
							fail(fmt.Errorf("Free(%v): %w", old, err))
						}
						g.Exit()
						frees.Add(1)
					}
				})
			}
			for r := range readers {
				wg.Go(func() {
					rng := rand.New(rand.NewPCG(uint64(r), 2))
					for time.Now().Before(deadline) && !failed.Load() {
						g := c.Enter()
						h := offheap.Handle(shared[rng.IntN(cells)].Load())
						p, err := s.Get(g, h)
						if err != nil { // freed between Load and Get: a clean error
							g.Exit()
							continue
						}
						for range 4 {
							if err := verify(p, h); err != nil {
								fail(err)
								break
							}
							runtime.Gosched()
						}
						g.Exit()
						reads.Add(1)
					}
				})
			}
			wg.Wait()
			for i := range shared {
				if err := free(c, s, offheap.Handle(shared[i].Load())); err != nil {
					t.Fatal(err)
				}
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			if reads.Load() == 0 || frees.Load() == 0 {
				t.Fatalf("no progress: %d reads, %d frees", reads.Load(), frees.Load())
			}
		})
	}
}
