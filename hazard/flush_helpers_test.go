package hazard

import (
	"context"
	"math"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// flushObj is what the tests of Flush's promise retire: freed counts the
// runs of its free function. (16 bytes: the tiny allocator does not pack
// it with others.)
type flushObj struct {
	freed atomic.Int32
	_     [12]byte
}

func freeFlushObj(o *flushObj) { o.freed.Add(1) }

// blockingFree returns a free function that closes inFree and blocks until
// letGo (which the test's cleanup calls too, so that a failing test does
// not leave it blocked) before it frees its object.
func blockingFree(t *testing.T) (free func(*flushObj), inFree <-chan struct{}, letGo func()) {
	in, unblock := make(chan struct{}), make(chan struct{})
	var once sync.Once
	letGo = func() { once.Do(func() { close(unblock) }) }
	t.Cleanup(letGo)
	free = func(o *flushObj) {
		close(in)
		<-unblock
		freeFlushObj(o)
	}
	return free, in, letGo
}

// stuckFlush starts U, a Flush whose scan of l0, the current list, takes a
// (sealed alone) and blocks in a's free function, and returns once it does:
// U uses l0 until finish, which lets it go and waits for it to return.
func stuckFlush(t *testing.T, d *Domain) (l0 *sealedList, a *flushObj, finish func()) {
	t.Helper()
	a = new(flushObj)
	free, inFree, letGo := blockingFree(t)
	Retire(d, a, free)
	if err := d.flushShards(context.Background()); err != nil {
		t.Fatal(err)
	}
	l0 = &d.sealed.lists[d.sealed.cur.Load()]
	uDone := make(chan struct{})
	go func() { defer close(uDone); d.Flush() }() // U
	awaitClosed(t, inFree, "U's free function of a")
	return l0, a, func() { letGo(); <-uDone }
}

// protectUnlinked makes hp protect o, as a reader that loaded o from a
// source that then dropped it.
func protectUnlinked(t *testing.T, hp *Pointer, o *flushObj) {
	t.Helper()
	var src atomic.Pointer[flushObj]
	src.Store(o)
	if Protect(hp, &src) != o {
		t.Fatal("Protect")
	}
}

// wideDomain returns a domain that scans only when told to (its threshold
// is out of reach and its aging timer off), with hp, its first slot, held,
// and 200,000 idle slots after it, which every snapshot reads: a scan then
// holds the batches it took for long enough to race with. midScan is a
// third of the shortest of three scans' durations: a test that waits that
// long after a scan began (spinFor) finds it between its read of slot 0
// and its put-back.
func wideDomain(t *testing.T) (d *Domain, hp *Pointer, midScan time.Duration) {
	t.Helper()
	if runtime.GOMAXPROCS(0) < 2 {
		t.Skip("needs two processors")
	}
	d = New(WithThreshold(1<<20), WithMaxBatchAge(0))
	t.Cleanup(func() { _ = d.Close() })
	hp = d.Acquire() // slot 0: read first by every snapshot
	idle := make([]*Pointer, 200_000)
	for i := range idle {
		idle[i] = d.Acquire()
	}
	for _, p := range idle {
		p.Release()
	}
	shortest := time.Duration(math.MaxInt64)
	for range 3 {
		retireSealed(t, d, new(flushObj))
		start := time.Now()
		d.scan(false)
		shortest = min(shortest, time.Since(start))
	}
	return d, hp, shortest / 3
}

// retireSealed retires o through d and seals its batch, without a scan.
func retireSealed(t *testing.T, d *Domain, o *flushObj) {
	t.Helper()
	Retire(d, o, freeFlushObj)
	if err := d.flushShards(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// scanOfRetire runs what a Retire that reaches the threshold runs,
// d.scan(false), on another goroutine, and waits until it uses l, the
// current list. It reports whether the scan was still running then; wait
// waits for it to end and returns how long it took.
func scanOfRetire(d *Domain) (l *sealedList, wait func() time.Duration, running bool) {
	l = &d.sealed.lists[d.sealed.cur.Load()]
	var wg sync.WaitGroup
	var done atomic.Bool
	var took time.Duration
	wg.Go(func() {
		start := time.Now()
		d.scan(false)
		took = time.Since(start)
		done.Store(true)
	})
	for l.users.Load() == 0 && !done.Load() {
		runtime.Gosched()
	}
	wait = func() time.Duration { wg.Wait(); return took }
	if done.Load() {
		wait()
		return l, wait, false
	}
	return l, wait, true
}

// spinFor busy-waits for d: time.Sleep of tens of microseconds sometimes
// sleeps a millisecond, past the whole scan.
func spinFor(d time.Duration) {
	for start := time.Now(); time.Since(start) < d; {
	}
}

// midScanOf lowers midScan to a third of took, a scan's duration: a
// scan slowed down once (a page fault, the garbage collector) must not
// make the tests sleep past the scans that follow.
func midScanOf(midScan, took time.Duration) time.Duration { return min(midScan, took/3) }

// judging reports whether a scan holds batches it took from l.
func judging(l *sealedList) bool { return l.judges[0].Load()+l.judges[1].Load() != 0 }

// requireReclaimed fails the test if o's free function has not run once,
// saying why that is a miss.
func requireReclaimed(t *testing.T, d *Domain, round int, o *flushObj, why string) {
	t.Helper()
	if n := o.freed.Load(); n != 1 {
		st := d.Stats()
		t.Fatalf("round %d: %s; freed=%d, Pending=%d, Protecting=%d, stale=%d",
			round, why, n, st.Pending, st.Protecting, d.sealed.stale.Load())
	}
}

// awaitClosed waits for ch to be closed by what it names, failing the test
// after 10 s.
func awaitClosed(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(10 * time.Second):
		t.Fatal(what + " never ran")
	}
}
