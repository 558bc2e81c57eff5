package hazard_test

import (
	"context"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-reclaim/reclaim/hazard"
)

// chaosObj is an object of TestStressChaos: readers check its value, which
// its free function poisons.
type chaosObj struct {
	val   atomic.Uint64
	freed atomic.Int32
}

const chaosPoison = ^uint64(0)

// TestStressChaos: writers swap shared pointers and retire the old
// objects while readers protect and check them; free functions sometimes
// panic, block, retire more (nested scans) or Flush, and Barriers with
// short random deadlines leave stale lists behind. No reader sees a freed
// object, nothing is freed twice, every Barrier that returns nil has
// reclaimed everything retired before it began, and at the end everything
// is freed exactly once. (Written by an independent review of scans that
// judge pinned and free from a ready stack.)
func TestStressChaos(t *testing.T) {
	d := hazard.New(hazard.WithThreshold(64), hazard.WithMaxBatchAge(0))
	const slots = 8
	var srcs [slots]atomic.Pointer[chaosObj]
	for i := range srcs {
		o := &chaosObj{}
		o.val.Store(1)
		srcs[i].Store(o)
	}
	var mu sync.Mutex
	var log []*chaosObj
	record := func(o *chaosObj) { mu.Lock(); log = append(log, o); mu.Unlock() }
	var bad atomic.Int64
	var free func(o *chaosObj)
	free = func(o *chaosObj) {
		if o.freed.Add(1) != 1 {
			bad.Add(1)
			t.Errorf("freed twice")
		}
		o.val.Store(chaosPoison)
		switch r := rand.IntN(4000); {
		case r < 8:
			panic("chaos")
		case r < 30:
			n := &chaosObj{}
			n.val.Store(7)
			hazard.Retire(d, n, free)
			record(n)
		case r < 40:
			time.Sleep(200 * time.Microsecond)
		case r < 42:
			time.Sleep(3 * time.Millisecond)
		case r < 45:
			d.Flush()
		}
	}
	deadline := time.Now().Add(4 * stressDuration())
	var wg sync.WaitGroup
	for range 6 {
		wg.Go(func() {
			hp := d.Acquire()
			defer hp.Release()
			for time.Now().Before(deadline) && bad.Load() == 0 {
				p := hazard.Protect(hp, &srcs[rand.IntN(slots)])
				if p.val.Load() == chaosPoison || p.freed.Load() != 0 {
					bad.Add(1)
					t.Errorf("reader saw a freed object")
				}
				hp.Reset()
			}
		})
	}
	for range 8 {
		wg.Go(func() {
			for i := uint64(2); time.Now().Before(deadline) && bad.Load() == 0; i++ {
				n := &chaosObj{}
				n.val.Store(i)
				old := srcs[rand.IntN(slots)].Swap(n)
				func() {
					defer func() { _ = recover() }()
					hazard.Retire(d, old, free)
				}()
				record(old)
			}
		})
	}
	var barriers, okBarriers atomic.Int64
	wg.Go(func() {
		checked := 0
		for time.Now().Before(deadline) && bad.Load() == 0 {
			mu.Lock()
			upto := len(log)
			mu.Unlock()
			to := time.Duration(rand.IntN(3000)) * time.Microsecond
			ctx, cancel := context.WithTimeout(context.Background(), to)
			var err error
			panicked := false
			func() {
				defer func() {
					if recover() != nil {
						panicked = true
					}
				}()
				err = d.Barrier(ctx)
			}()
			cancel()
			barriers.Add(1)
			if err != nil || panicked {
				continue
			}
			okBarriers.Add(1)
			mu.Lock()
			objs := log[checked:upto]
			mu.Unlock()
			for _, o := range objs {
				if o.freed.Load() != 1 {
					bad.Add(1)
					t.Errorf("Barrier returned nil with an object retired before it not freed (freed=%d)", o.freed.Load())
					break
				}
			}
			checked = upto
		}
	})
	wg.Wait()
	for i := range srcs {
		o := srcs[i].Swap(nil)
		func() {
			defer func() { _ = recover() }()
			hazard.Retire(d, o, free)
		}()
		record(o)
	}
	// Free functions that a Barrier runs may retire more, which that
	// Barrier need not wait for: repeat until nothing is pending, which a
	// lost object would prevent.
	for round := 0; d.Stats().Pending != 0; round++ {
		if round == 1000 {
			t.Fatalf("still pending after %d Barriers: %+v", round, d.Stats())
		}
		func() {
			defer func() { _ = recover() }() // a free function's panic
			_ = d.Barrier(context.Background())
		}()
	}
	mu.Lock()
	defer mu.Unlock()
	for _, o := range log {
		if o.freed.Load() != 1 {
			t.Fatalf("object freed %d times at the end", o.freed.Load())
		}
	}
	st := d.Stats()
	t.Logf("objects %d, barriers %d (nil %d), stats %+v", len(log), barriers.Load(), okBarriers.Load(), st)
	if st.Pending != 0 {
		t.Fatalf("pending %d", st.Pending)
	}
}
