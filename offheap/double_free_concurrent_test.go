package offheap_test

import (
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/go-reclaim/reclaim/offheap"
)

// Two goroutines free every handle at once while allocators churn through
// the per-P caches and GOMAXPROCS changes: each handle is freed exactly
// once, no slot is handed to two live owners, and once everything is back
// the slab hands out its whole capacity, each slot once.
func TestConcurrentDoubleFreeAndCaches(t *testing.T) {
	for _, mode := range []struct {
		name string
		opts []offheap.Option
	}{{"unchecked", nil}, {"checked", []offheap.Option{offheap.WithChecks()}}} {
		t.Run(mode.name, func(t *testing.T) {
			defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
			c := newCollector(t)
			const capacity = 1024
			s := newSlab[record](t, c, capacity, mode.opts...)
			var stop atomic.Bool
			var wg sync.WaitGroup
			var failed atomic.Value
			fail := func(err error) { failed.CompareAndSwap(nil, err) }
			wg.Go(func() {
				for i := 0; !stop.Load(); i++ {
					runtime.GOMAXPROCS(1 + i%4)
					runtime.Gosched()
				}
			})
			for range 3 { // churn: Alloc, fill, verify, Free
				wg.Go(func() {
					for !stop.Load() {
						h, p, err := s.Alloc()
						if err != nil {
							if !errors.Is(err, offheap.ErrFull) {
								fail(err)
							}
							runtime.Gosched()
							continue
						}
						fill(p, h)
						runtime.Gosched()
						if err := verify(p, h); err != nil {
							fail(fmt.Errorf("slot handed to two owners: %w", err))
						}
						if err := free(c, s, h); err != nil {
							fail(err)
						}
					}
				})
			}
			for round := range 200 {
				var hs []offheap.Handle
				for range 16 {
					h, p, err := s.Alloc()
					if err != nil {
						continue
					}
					fill(p, h)
					hs = append(hs, h)
				}
				var ok [2]atomic.Int64
				var dbl atomic.Int64
				var fw sync.WaitGroup
				for k := range 2 {
					fw.Go(func() {
						g := c.Enter()
						defer g.Exit()
						for _, h := range hs {
							err := s.Free(g, h)
							switch {
							case err == nil:
								ok[k].Add(1)
							case errors.Is(err, offheap.ErrDoubleFree):
								dbl.Add(1)
							default:
								fail(fmt.Errorf("round %d: Free(%v): %w", round, h, err))
							}
						}
					})
				}
				fw.Wait()
				if n := ok[0].Load() + ok[1].Load(); n != int64(len(hs)) || dbl.Load() != int64(len(hs)) {
					t.Fatalf("round %d: %d successful frees and %d double frees of %d handles", round, n, dbl.Load(), len(hs))
				}
				if err, _ := failed.Load().(error); err != nil {
					break
				}
			}
			stop.Store(true)
			wg.Wait()
			if err, _ := failed.Load().(error); err != nil {
				t.Fatal(err)
			}
			barrier(t, c)
			seen := make(map[uint32]bool)
			for {
				h, p, err := s.Alloc()
				if err != nil {
					if !errors.Is(err, offheap.ErrFull) {
						t.Fatal(err)
					}
					break
				}
				if seen[h.Index()] {
					t.Fatalf("slot %d handed out twice", h.Index())
				}
				seen[h.Index()] = true
				fill(p, h)
			}
			if st := s.Stats(); len(seen)+st.Dead != capacity || st.Live != int64(len(seen)) || st.Pending != 0 {
				t.Fatalf("after refilling: %d distinct slots, stats %+v", len(seen), st)
			}
			_ = s.Close() // checked mode reports the refill as leaks
		})
	}
}
