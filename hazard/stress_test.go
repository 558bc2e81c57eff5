package hazard_test

import (
	"context"
	"math/rand/v2"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/go-reclaim/reclaim/hazard"
)

// stressDuration is how long each stress test runs: a few hundred
// milliseconds, or RECLAIM_SOAK if it is a duration (10s if it is set to
// anything else).
func stressDuration() time.Duration {
	if s := os.Getenv("RECLAIM_SOAK"); s != "" {
		if d, err := time.ParseDuration(s); err == nil {
			return d
		}
		return 10 * time.Second
	}
	if testing.Short() {
		return 50 * time.Millisecond
	}
	return 300 * time.Millisecond
}

func stressWorkers() int { return 4 * runtime.GOMAXPROCS(0) }

// Ledger states of a node.
const (
	nodeLive    = 1 // allocated, being pushed or in the structure
	nodeRetired = 2 // unlinked and retired
	nodeFree    = 3 // reclaimed, in the free list
)

const poison = ^uint64(0) // no value pushed is all ones

// ledger recycles nodes through a free list (the main reason to use hazard
// pointers in Go) and accounts for each: every node goes live -> retired ->
// free -> live ..., each transition checked, and it counts retires and
// reclaims. The free function poisons the node with plain writes: a reader
// that touches a reclaimed node races with them (reported under -race) and,
// without -race, reads the poison. The free list is a buffered channel used
// without blocking (a node that does not fit is dropped): cheaper under
// contention than a mutex, and not a sync.Pool, whose first use after each
// GC takes a global lock (see TestRetireOnFreshDomainsConcurrently).
type ledger[N any] struct {
	t        testing.TB
	state    func(*N) *atomic.Int32
	poison   func(*N)
	freeList chan *N
	mu       sync.Mutex
	all      []*N // every node ever allocated
	retired  atomic.Int64
	freed    atomic.Int64
	errs     atomic.Int64 // ledger violations seen
}

func (l *ledger[N]) fail(format string, args ...any) {
	if l.errs.Add(1) <= 10 {
		l.t.Errorf(format, args...)
	}
}

// alloc returns a live node, recycled if one is free.
func (l *ledger[N]) alloc() *N {
	var n *N
	select {
	case n = <-l.freeList:
	default:
	}
	if n == nil {
		n = new(N)
		l.state(n).Store(nodeFree)
		l.mu.Lock()
		l.all = append(l.all, n)
		l.mu.Unlock()
	}
	if !l.state(n).CompareAndSwap(nodeFree, nodeLive) {
		l.fail("allocated node %p in state %d", n, l.state(n).Load())
	}
	return n
}

// retire is called by the goroutine that unlinked n.
func (l *ledger[N]) retire(d *hazard.Domain, n *N) {
	if !l.state(n).CompareAndSwap(nodeLive, nodeRetired) {
		l.fail("node %p unlinked twice (state %d)", n, l.state(n).Load())
	}
	l.retired.Add(1)
	hazard.Retire(d, n, l.free)
}

func (l *ledger[N]) free(n *N) {
	if !l.state(n).CompareAndSwap(nodeRetired, nodeFree) {
		l.fail("node %p reclaimed in state %d (twice, or never retired)", n, l.state(n).Load())
		return
	}
	l.freed.Add(1)
	l.poison(n)
	select {
	case l.freeList <- n:
	default: // dropped: it stays free
	}
}

// check runs after the structure is drained and the domain synchronized:
// every retired node was reclaimed exactly once; the nodes still in the
// structure (live) are the only ones not free.
// Besides the ledger's nodes, the domain retired and reclaimed others
// (hammer's dummies).
func (l *ledger[N]) check(t *testing.T, d *hazard.Domain, live int, others int64) {
	t.Helper()
	require.Equal(t, l.retired.Load(), l.freed.Load(), "retired vs reclaimed")
	st := d.Stats()
	require.EqualValues(t, l.retired.Load()+others, st.Retired)
	require.EqualValues(t, l.freed.Load()+others, st.Reclaimed)
	require.Zero(t, st.Pending)
	counts := map[int32]int{}
	for _, n := range l.all {
		counts[l.state(n).Load()]++
	}
	want := deleteZero(map[int32]int{nodeLive: live, nodeFree: len(l.all) - live})
	require.Equal(t, want, deleteZero(counts), "node states")
	require.Zero(t, l.errs.Load())
}

func deleteZero(m map[int32]int) map[int32]int {
	for k, v := range m {
		if v == 0 {
			delete(m, k)
		}
	}
	return m
}

// values accounts for the values pushed and popped: value = producer<<32 |
// seq, seq counting from 1 per producer.
type values struct {
	pushed []uint64   // per producer: how many
	popped [][]uint64 // per consumer, in order
}

func newValues(workers int) *values {
	return &values{pushed: make([]uint64, workers+1), popped: make([][]uint64, workers+1)}
}

func (v *values) next(producer int) uint64 {
	v.pushed[producer]++
	return uint64(producer)<<32 | v.pushed[producer]
}

// check: every value pushed was popped exactly once (the drain included),
// nothing else was; with fifo, each consumer saw each producer's values in
// increasing order.
func (v *values) check(t *testing.T, fifo bool) {
	t.Helper()
	seen := make([][]bool, len(v.pushed))
	for p, n := range v.pushed {
		seen[p] = make([]bool, n+1)
	}
	total := 0
	for c, vals := range v.popped {
		last := make([]uint64, len(v.pushed))
		for _, x := range vals {
			p, s := int(x>>32), x&(1<<32-1)
			if p >= len(v.pushed) || s < 1 || s > v.pushed[p] {
				require.Failf(t, "bad value", "consumer %d popped a value never pushed: %#x", c, x)
			}
			if seen[p][s] {
				require.Failf(t, "duplicate", "value %#x popped twice", x)
			}
			seen[p][s] = true
			if fifo && s <= last[p] {
				require.Failf(t, "not FIFO", "consumer %d: producer %d's value %d after %d", c, p, s, last[p])
			}
			last[p] = s
			total++
		}
	}
	want := 0
	for _, n := range v.pushed {
		want += int(n)
	}
	require.Equal(t, want, total, "values lost")
}

// hammer makes the domain scan as often as it can until stop is closed, so
// that objects are reclaimed as early as the hazard pointers allow:
//
//   - a goroutine retires batches of dummy objects, and every sealed batch
//     scans (the stress domains use WithThreshold(1));
//   - another calls Barrier with an expired deadline in a loop: each call
//     flushes the open batches and sweeps everything.
//
// It returns the number of dummy objects retired, valid once wg is done.
func hammer(t testing.TB, d *hazard.Domain, stop <-chan struct{}, wg *sync.WaitGroup) *int64 {
	dummies := new(int64)
	hazard.Retire(d, new(int), func(*int) {})
	wg.Go(func() {
		n := 1
		defer func() { *dummies = int64(n); t.Logf("hammer: %d dummy retires", n) }()
		for {
			select {
			case <-stop:
				return
			default:
			}
			for range 64 {
				hazard.Retire(d, new(int), func(*int) {})
				n++
			}
			runtime.Gosched()
		}
	})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	wg.Go(func() {
		n := 0
		var longest time.Duration
		defer func() { t.Logf("hammer: %d barriers, longest %v", n, longest) }()
		for {
			select {
			case <-stop:
				return
			default:
			}
			start := time.Now()
			_ = d.Barrier(ctx)
			longest = max(longest, time.Since(start))
			n++
			runtime.Gosched()
		}
	})
	return dummies
}

// --- Treiber stack ---

type snode struct {
	val   uint64 // written before the push, read by poppers under protection
	next  *snode // immutable while the node is in the stack
	state atomic.Int32
}

type treiber struct {
	top atomic.Pointer[snode]
	l   *ledger[snode]
	d   *hazard.Domain
	t   testing.TB
}

func (s *treiber) push(v uint64) {
	n := s.l.alloc()
	n.val = v
	for {
		top := s.top.Load()
		n.next = top
		if s.top.CompareAndSwap(top, n) {
			return
		}
	}
}

func (s *treiber) pop(hp *hazard.Pointer) (uint64, bool) {
	defer hp.Reset()
	for {
		top := hazard.Protect(hp, &s.top)
		if top == nil {
			return 0, false
		}
		next := top.next
		v := top.val
		if v == poison || top.state.Load() == nodeFree {
			s.l.fail("pop: protected node %p was reclaimed (val %#x)", top, v)
			return 0, false
		}
		if s.top.CompareAndSwap(top, next) {
			s.l.retire(s.d, top)
			return v, true
		}
	}
}

// TestStressTreiberStack runs 4×GOMAXPROCS goroutines that push and pop on
// a Treiber stack whose nodes are recycled through the domain, while
// another goroutine forces scans. Checks: no protected node is reclaimed
// (poison, ledger, -race), no node is reclaimed twice, every pushed value
// is popped exactly once (the final drain included), and after Barrier and
// Close every retired node was reclaimed exactly once.
func TestStressTreiberStack(t *testing.T) {
	d := hazard.New(hazard.WithThreshold(1))
	l := &ledger[snode]{
		t:        t,
		freeList: make(chan *snode, 1<<16),
		state:    func(n *snode) *atomic.Int32 { return &n.state },
		poison:   func(n *snode) { n.val = poison; n.next = nil },
	}
	s := &treiber{l: l, d: d, t: t}
	workers := stressWorkers()
	vals := newValues(workers)
	stop := make(chan struct{})
	var bg, wg sync.WaitGroup
	dummies := hammer(t, d, stop, &bg)
	deadline := time.Now().Add(stressDuration())
	var ops atomic.Int64
	for w := range workers {
		wg.Go(func() {
			hp := d.Acquire()
			defer hp.Release()
			rng := rand.New(rand.NewPCG(uint64(w), 1))
			n := 0
			for ; n%64 != 0 || time.Now().Before(deadline); n++ {
				if l.errs.Load() > 0 {
					return
				}
				if rng.IntN(2) == 0 {
					s.push(vals.next(w))
				} else if v, ok := s.pop(hp); ok {
					vals.popped[w] = append(vals.popped[w], v)
				}
			}
			ops.Add(int64(n))
		})
	}
	wg.Wait()
	close(stop)
	bg.Wait()
	hp := d.Acquire()
	for {
		v, ok := s.pop(hp)
		if !ok {
			break
		}
		vals.popped[workers] = append(vals.popped[workers], v)
	}
	hp.Release()
	require.NoError(t, d.Barrier(waitCtx(t)))
	t.Logf("%d ops by %d goroutines; %d nodes allocated, %d retired; peak pending %d",
		ops.Load(), workers, len(l.all), l.retired.Load(), d.Stats().PeakPending)
	vals.check(t, false)
	l.check(t, d, 0, *dummies)
	require.NoError(t, d.Close())
	l.check(t, d, 0, *dummies)
}

// --- Michael-Scott queue ---

type qnode struct {
	val   uint64 // written before the enqueue, read by dequeuers under protection
	next  atomic.Pointer[qnode]
	state atomic.Int32
}

// qPoison is what a reclaimed node's next points to.
var qPoison = &qnode{val: poison}

type msQueue struct {
	head, tail atomic.Pointer[qnode]
	l          *ledger[qnode]
	d          *hazard.Domain
}

func newMSQueue(l *ledger[qnode], d *hazard.Domain) *msQueue {
	q := &msQueue{l: l, d: d}
	dummy := l.alloc()
	q.head.Store(dummy)
	q.tail.Store(dummy)
	return q
}

func (q *msQueue) enqueue(hp *hazard.Pointer, v uint64) {
	defer hp.Reset()
	n := q.l.alloc()
	n.val = v
	n.next.Store(nil)
	for {
		t := hazard.Protect(hp, &q.tail)
		next := t.next.Load()
		if next == qPoison {
			q.l.fail("enqueue: protected tail %p was reclaimed", t)
			return
		}
		if q.tail.Load() != t {
			continue
		}
		if next != nil {
			q.tail.CompareAndSwap(t, next)
			continue
		}
		if t.next.CompareAndSwap(nil, n) {
			q.tail.CompareAndSwap(t, n)
			return
		}
	}
}

// dequeue needs two hazard pointers: the head (the dummy) and its
// successor, whose value it reads.
func (q *msQueue) dequeue(a *hazard.Array) (uint64, bool) {
	hh, hn := a.At(0), a.At(1)
	defer hh.Reset()
	defer hn.Reset()
	for {
		h := hazard.Protect(hh, &q.head)
		t := q.tail.Load()
		next := hazard.Protect(hn, &h.next)
		if q.head.Load() != h {
			continue
		}
		if next == qPoison {
			q.l.fail("dequeue: protected head %p was reclaimed", h)
			return 0, false
		}
		if next == nil {
			return 0, false
		}
		if h == t {
			q.tail.CompareAndSwap(t, next)
			continue
		}
		v := next.val
		if v == poison || next.state.Load() == nodeFree {
			q.l.fail("dequeue: protected node %p was reclaimed (val %#x)", next, v)
			return 0, false
		}
		if q.head.CompareAndSwap(h, next) {
			q.l.retire(q.d, h)
			return v, true
		}
	}
}

// TestStressMSQueue runs 4×GOMAXPROCS goroutines that enqueue and dequeue
// on a Michael-Scott queue whose nodes are recycled through the domain,
// while another goroutine forces scans. Checks as for the stack, plus FIFO:
// each consumer sees each producer's values in the order they were
// enqueued.
func TestStressMSQueue(t *testing.T) {
	d := hazard.New(hazard.WithThreshold(1))
	l := &ledger[qnode]{
		t:        t,
		freeList: make(chan *qnode, 1<<16),
		state:    func(n *qnode) *atomic.Int32 { return &n.state },
		poison:   func(n *qnode) { n.val = poison; n.next.Store(qPoison) },
	}
	q := newMSQueue(l, d)
	workers := stressWorkers()
	vals := newValues(workers)
	stop := make(chan struct{})
	var bg, wg sync.WaitGroup
	dummies := hammer(t, d, stop, &bg)
	deadline := time.Now().Add(stressDuration())
	var ops atomic.Int64
	for w := range workers {
		wg.Go(func() {
			a := d.AcquireArray(2)
			defer a.Release()
			rng := rand.New(rand.NewPCG(uint64(w), 2))
			n := 0
			for ; n%64 != 0 || time.Now().Before(deadline); n++ {
				if l.errs.Load() > 0 {
					return
				}
				if rng.IntN(2) == 0 {
					q.enqueue(a.At(0), vals.next(w))
				} else if v, ok := q.dequeue(a); ok {
					vals.popped[w] = append(vals.popped[w], v)
				}
			}
			ops.Add(int64(n))
		})
	}
	wg.Wait()
	close(stop)
	bg.Wait()
	a := d.AcquireArray(2)
	for {
		v, ok := q.dequeue(a)
		if !ok {
			break
		}
		vals.popped[workers] = append(vals.popped[workers], v)
	}
	a.Release()
	require.NoError(t, d.Barrier(waitCtx(t)))
	t.Logf("%d ops by %d goroutines; %d nodes allocated, %d retired; peak pending %d",
		ops.Load(), workers, len(l.all), l.retired.Load(), d.Stats().PeakPending)
	vals.check(t, true)
	l.check(t, d, 1, *dummies) // the dummy
	require.NoError(t, d.Close())
	l.check(t, d, 1, *dummies)
}

// --- RCU-style snapshots ---

type snapshot struct {
	a, b uint64 // a == b while live; poisoned on reclaim
}

// TestStressSnapshotSwap is the configuration-table use: readers Protect a
// shared pointer and read the object while writers swap in new ones and
// retire the old, and another goroutine forces scans. A reader must never
// see a reclaimed snapshot (poison, -race); every snapshot is reclaimed
// exactly once. In the Flush variant the writers call Flush after every
// other Retire (as refcount's AtomicArc does after a Store) and the aging
// timer ticks every millisecond: Flush, Retire's scans, Barriers and the
// timer all reclaim at once.
func TestStressSnapshotSwap(t *testing.T) {
	t.Run("Retire", func(t *testing.T) {
		stressSnapshotSwap(t, hazard.New(hazard.WithThreshold(1)), 0)
	})
	t.Run("Flush", func(t *testing.T) {
		stressSnapshotSwap(t, hazard.New(hazard.WithThreshold(8), hazard.WithMaxBatchAge(time.Millisecond)), 2)
	})
}

// stressSnapshotSwap runs TestStressSnapshotSwap on d; with flushEvery > 0,
// the writers call Flush after every flushEvery-th Retire.
func stressSnapshotSwap(t *testing.T, d *hazard.Domain, flushEvery uint64) {
	var src atomic.Pointer[snapshot]
	var made, freed atomic.Int64
	free := func(s *snapshot) {
		if s.a == poison {
			t.Errorf("snapshot %p reclaimed twice", s)
		}
		s.a, s.b = poison, poison
		freed.Add(1)
	}
	src.Store(&snapshot{a: 1, b: 1})
	made.Add(1)
	stop := make(chan struct{})
	var bg, wg sync.WaitGroup
	dummies := hammer(t, d, stop, &bg)
	deadline := time.Now().Add(stressDuration())
	var bad atomic.Int64
	workers := stressWorkers()
	for w := range workers {
		wg.Go(func() {
			hp := d.Acquire()
			defer hp.Release()
			for i := uint64(2); time.Now().Before(deadline) && bad.Load() == 0; i++ {
				if w < 2 { // writers
					old := src.Swap(&snapshot{a: i, b: i})
					made.Add(1)
					hazard.Retire(d, old, free)
					if flushEvery > 0 && i%flushEvery == 0 {
						d.Flush()
					}
					continue
				}
				var s *snapshot
				if w%2 == 0 {
					s = hazard.Protect(hp, &src)
				} else { // load, then validate
					for s = src.Load(); !hazard.TryProtect(hp, s, &src); s = src.Load() {
					}
				}
				if a, b := s.a, s.b; a != b || a == poison {
					bad.Add(1)
					t.Errorf("reader saw a reclaimed snapshot %p: %#x %#x", s, a, b)
				}
				hp.Reset()
			}
		})
	}
	wg.Wait()
	close(stop)
	bg.Wait()
	require.NoError(t, d.Barrier(waitCtx(t)))
	require.Equal(t, made.Load()-1, freed.Load())
	st := d.Stats()
	require.EqualValues(t, freed.Load()+*dummies, st.Reclaimed)
	require.Zero(t, st.Pending)
	hazard.Retire(d, src.Swap(nil), free)
	require.NoError(t, d.Close())
	require.Equal(t, made.Load(), freed.Load())
	t.Logf("%d snapshots", made.Load())
}

// TestStressBarrierReclaimsAllRetiredBefore: while goroutines retire, a
// Barrier (nothing is protected) must reclaim every object whose Retire
// returned before the Barrier began, including those in open batches of
// processors that other goroutines are sealing at that moment. It runs
// rounds of 4×16k retires until its time is over.
//
// It is the regression test for a fixed bug: Retire took a full batch out
// of its shard, released the shard lock, and only then sealed it, so a
// Barrier whose flush ran in that window returned nil while up to 63 objects
// retired before it were neither reclaimed nor counted. Without -race the
// bug showed within a second. It runs 2s (RECLAIM_SOAK for longer).
func TestStressBarrierReclaimsAllRetiredBefore(t *testing.T) {
	dur := 2 * time.Second
	if os.Getenv("RECLAIM_SOAK") != "" {
		dur = stressDuration()
	}
	deadline := time.Now().Add(dur)
	d := hazard.New()
	hazard.Retire(d, new(int), func(*int) {})
	rounds, barriers := 0, 0
	for rounds == 0 || time.Now().Before(deadline) {
		barriers += barrierRound(t, d)
		rounds++
		if t.Failed() {
			break
		}
	}
	require.NoError(t, d.Close())
	st := d.Stats()
	require.Equal(t, st.Retired, st.Reclaimed)
	require.EqualValues(t, rounds*4<<14+1, st.Retired)
	t.Logf("%d rounds, %d barriers", rounds, barriers)
}

func barrierRound(t *testing.T, d *hazard.Domain) (barriers int) {
	const retirers, per = 4, 1 << 14
	type robj struct{ freed atomic.Bool }
	var (
		objs [retirers][]robj
		done [retirers]atomic.Int64 // objs[w][:done[w]] have returned from Retire
	)
	for w := range objs {
		objs[w] = make([]robj, per)
	}
	free := func(o *robj) {
		if o.freed.Swap(true) {
			t.Error("reclaimed twice")
		}
	}
	var wg sync.WaitGroup
	for w := range retirers {
		wg.Go(func() {
			for i := range objs[w] {
				hazard.Retire(d, &objs[w][i], free)
				done[w].Store(int64(i + 1))
			}
		})
	}
	failures := 0
	var checked [retirers]int64 // objs[w][:checked[w]] are known reclaimed
	for finished := false; !finished; {
		finished = true
		var before [retirers]int64
		for w := range before {
			before[w] = done[w].Load()
			finished = finished && before[w] == per
		}
		require.NoError(t, d.Barrier(waitCtx(t)))
		barriers++
		for w := range before {
			for ; checked[w] < before[w]; checked[w]++ {
				if !objs[w][checked[w]].freed.Load() {
					failures++
					if failures <= 5 {
						t.Errorf("barrier %d: object %d of retirer %d retired before Barrier but not reclaimed by it",
							barriers, checked[w], w)
					}
					break
				}
			}
		}
	}
	wg.Wait()
	require.NoError(t, d.Barrier(waitCtx(t)))
	for w := range objs {
		for i := range objs[w] {
			require.True(t, objs[w][i].freed.Load())
		}
	}
	require.Zero(t, failures, "%d of %d barriers missed objects", failures, barriers)
	return barriers
}

// TestBarrierConcurrentWithScans is a regression test for a fixed race; run it under -race
// with RECLAIM_KNOWN_BUGS set. Barrier (barrier.go) sweeps under barrierMu,
// pushes the kept batches back onto the sealed list, releases the lock and
// clears barring, and only then walks the kept list in holdsTagAtMost
// (reading Batch.Epoch and Batch.next). By then a Retire's scan may have
// taken those batches, reclaimed their entries and recycled them
// (Batch.Reset writes Epoch and next) or relinked them: a data race, and a
// walk that can follow a reused batch out of the list and return nil
// while an object retired before the Barrier is still pending. The race
// detector reports it within a few hundred milliseconds here, and in every
// stress test of this file once its Barrier hammer runs. Computing
// holdsTagAtMost inside sweepAll, before PushTo, removes it (checked in a
// scratch copy: the stress tests then pass under -race with the hammer).
func TestBarrierConcurrentWithScans(t *testing.T) {
	d := hazard.New(hazard.WithThreshold(1))
	hazard.Retire(d, new(snapshot), func(*snapshot) {})
	var src atomic.Pointer[snapshot]
	src.Store(&snapshot{})
	deadline := time.Now().Add(max(stressDuration(), time.Second))
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			hp := d.Acquire()
			defer hp.Release()
			for time.Now().Before(deadline) {
				switch w {
				case 0, 1: // writers
					hazard.Retire(d, src.Swap(&snapshot{}), func(*snapshot) {})
				case 2: // a reader that holds its protection a while
					hazard.Protect(hp, &src)
					time.Sleep(10 * time.Microsecond)
					hp.Reset()
				case 3: // Barrier with an expired deadline, in a loop
					ctx, cancel := context.WithCancel(context.Background())
					cancel()
					_ = d.Barrier(ctx)
				}
			}
		})
	}
	wg.Wait()
	hazard.Retire(d, src.Swap(nil), func(*snapshot) {})
	require.NoError(t, d.Close())
}
