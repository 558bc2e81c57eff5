package hazard

import (
	"context"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

type ledgerObj struct {
	val   atomic.Uint64 // 1 while live, 0 once freed
	freed atomic.Int32
}

// A ledger of every retired object under everything at once: writers swap
// and retire, readers protect and check, free functions that panic, block,
// retire more or Flush, Flush loops, Barriers with deadlines that end at
// once or soon (leaving stale lists) and with none, the aging timer, and
// GOMAXPROCS changing. Every Barrier that returns nil has reclaimed every
// object whose Retire had returned (or panicked) before it began; no reader
// sees a freed object; at the end Close reclaims everything, each object
// exactly once.
func TestReviewLedgerEverythingAtOnce(t *testing.T) {
	run := 3 * time.Second
	if testing.Short() {
		run = 500 * time.Millisecond
	}
	procs := runtime.GOMAXPROCS(0)
	defer runtime.GOMAXPROCS(procs)
	d := New(WithThreshold(128), WithMaxBatchAge(time.Millisecond))

	var mu sync.Mutex
	var ledger []*ledgerObj
	record := func(o *ledgerObj) { mu.Lock(); ledger = append(ledger, o); mu.Unlock() }
	var twice, seenFreed atomic.Int64
	var free func(*ledgerObj)
	retire := func(o *ledgerObj) {
		defer record(o) // retired, also when a free function panics in this Retire's scan
		Retire(d, o, free)
	}
	free = func(o *ledgerObj) {
		if o.freed.Add(1) != 1 {
			twice.Add(1)
		}
		o.val.Store(0)
		switch r := rand.IntN(2000); {
		case r < 3:
			panic("ledger")
		case r < 10:
			n := new(ledgerObj)
			n.val.Store(1)
			retire(n)
		case r < 14:
			time.Sleep(100 * time.Microsecond)
		case r < 16:
			d.Flush()
		}
	}
	protect := func(f func()) {
		defer func() {
			if r := recover(); r != nil && r != "ledger" {
				panic(r)
			}
		}()
		f()
	}

	const srcs = 8
	var src [srcs]atomic.Pointer[ledgerObj]
	for i := range src {
		o := new(ledgerObj)
		o.val.Store(1)
		src[i].Store(o)
	}
	var stop atomic.Bool
	var wg sync.WaitGroup
	for w := range 3 { // writers
		wg.Go(func() {
			for n := 0; !stop.Load(); n++ {
				o := new(ledgerObj)
				o.val.Store(1)
				old := src[(n+w)%srcs].Swap(o)
				protect(func() { retire(old) })
			}
		})
	}
	for r := range 2 { // readers
		wg.Go(func() {
			hp := d.Acquire()
			defer hp.Release()
			for n := 0; !stop.Load(); n++ {
				o := Protect(hp, &src[(n+r)%srcs])
				if o.val.Load() != 1 {
					seenFreed.Add(1)
				}
				hp.Reset()
			}
		})
	}
	wg.Go(func() { // Flush loop
		for !stop.Load() {
			protect(d.Flush)
			time.Sleep(50 * time.Microsecond)
		}
	})
	wg.Go(func() { // GOMAXPROCS
		for !stop.Load() {
			runtime.GOMAXPROCS(1 + rand.IntN(4))
			time.Sleep(5 * time.Millisecond)
		}
	})
	var barriers, covered, missedBarrier atomic.Int64
	wg.Go(func() { // Barriers
		for !stop.Load() {
			mu.Lock()
			before := len(ledger)
			mu.Unlock()
			var ctx context.Context
			var cancel context.CancelFunc
			switch rand.IntN(3) {
			case 0:
				ctx, cancel = context.WithCancel(context.Background())
				cancel()
			case 1:
				ctx, cancel = context.WithTimeout(context.Background(), time.Duration(rand.IntN(300))*time.Microsecond)
			default:
				ctx, cancel = context.WithTimeout(context.Background(), 10*time.Second)
			}
			var err error
			panicked := true
			func() {
				defer func() {
					if r := recover(); r != nil && r != "ledger" {
						panic(r)
					}
				}()
				err = d.Barrier(ctx)
				panicked = false
			}()
			cancel()
			barriers.Add(1)
			if panicked || err != nil {
				continue
			}
			covered.Add(1)
			mu.Lock()
			for _, o := range ledger[:before] {
				if o.freed.Load() != 1 {
					missedBarrier.Add(1)
				}
			}
			mu.Unlock()
		}
	})
	time.Sleep(run)
	stop.Store(true)
	wg.Wait()
	runtime.GOMAXPROCS(procs)
	for i := range src {
		o := src[i].Swap(nil)
		protect(func() { retire(o) })
	}
	var err error
	for range 100 {
		panicked := true
		func() {
			defer func() {
				if r := recover(); r != nil && r != "ledger" {
					panic(r)
				}
			}()
			err = d.Close()
			panicked = false
		}()
		if !panicked && err == nil {
			break
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	notFreed := 0
	for _, o := range ledger {
		if o.freed.Load() != 1 {
			notFreed++
		}
	}
	t.Logf("%d objects, %d Barriers (%d returned nil)", len(ledger), barriers.Load(), covered.Load())
	if twice.Load() != 0 || seenFreed.Load() != 0 || missedBarrier.Load() != 0 || notFreed != 0 {
		t.Fatalf("freed twice %d, reader saw a freed object %d, Barrier returned nil before reclaiming %d, not freed after Close %d",
			twice.Load(), seenFreed.Load(), missedBarrier.Load(), notFreed)
	}
	if covered.Load() == 0 {
		t.Fatal("no Barrier returned nil")
	}
}
