package epoch_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/go-reclaim/reclaim/epoch"
)

// The Treiber stress tests run a stack on a Collector with 4*GOMAXPROCS
// goroutines that push and pop at random, each operation in its own guard,
// while two monitor goroutines call Barrier and Stats. Popped nodes are retired;
// reclaiming a node poisons it (plain writes to the fields a reader reads),
// so a reader that touches a reclaimed node fails the poison check or, under
// -race, races with the poison write. A ledger checks that every retired node
// is reclaimed exactly once and nodes still in the stack never; value
// accounting checks that every value pushed was popped exactly once or is
// still in the stack (a recycled node reused too early shows up as ABA: a
// value popped twice or lost).
//
// Each subtest runs once for stressRound. With RECLAIM_SOAK set to a
// duration (RECLAIM_SOAK=60s go test -race -run Stress ./epoch/) each subtest
// runs rounds of stressSoakRound, on a new Collector each and checked each,
// until that much time has passed; set -timeout above four times it.

const (
	stressRound     = 400 * time.Millisecond
	stressSoakRound = 2 * time.Second
	// stressBarrier bounds each Barrier; stressHang, the whole run after
	// the workers are told to stop.
	stressBarrier = 10 * time.Second
	stressHang    = 30 * time.Second
)

// TestStressTreiberRetire retires popped nodes with epoch.Retire; the free
// function poisons them and the garbage collector frees them.
func TestStressTreiberRetire(t *testing.T) {
	for _, batch := range []int{2, epoch.DefaultBatchSize} {
		t.Run(fmt.Sprintf("batch=%d", batch), func(t *testing.T) {
			stressSoak(t, func(t *testing.T, seed uint64, d time.Duration) { stressRun(t, seed, d, batch, false) })
		})
	}
}

// TestStressTreiberPool recycles nodes through epoch.Pool; OnReclaim poisons
// them and Get hands them out again, zeroed.
func TestStressTreiberPool(t *testing.T) {
	for _, batch := range []int{2, epoch.DefaultBatchSize} {
		t.Run(fmt.Sprintf("batch=%d", batch), func(t *testing.T) {
			stressSoak(t, func(t *testing.T, seed uint64, d time.Duration) { stressRun(t, seed, d, batch, true) })
		})
	}
}

// stressSoak runs one round, or rounds until RECLAIM_SOAK has passed.
func stressSoak(t *testing.T, run func(t *testing.T, seed uint64, d time.Duration)) {
	soak, round := time.Duration(0), stressRound
	if s := os.Getenv("RECLAIM_SOAK"); s != "" {
		d, err := time.ParseDuration(s)
		require.NoError(t, err, "RECLAIM_SOAK must be a duration such as 60s")
		soak, round = d, min(d, stressSoakRound)
	}
	end := time.Now().Add(soak)
	for i := 0; ; i++ {
		seed := rand.Uint64()
		run(t, seed, round)
		if t.Failed() {
			t.Logf("round %d failed; seed %#x (goroutine interleavings are not replayable)", i, seed)
			return
		}
		if !time.Now().Before(end) {
			if soak > 0 {
				t.Logf("soak: %d rounds of %v", i+1, round)
			}
			return
		}
	}
}

// stressNode is a stack node. Its plain fields are written by the pusher
// before it publishes the node and by the poisoner after reclamation, and
// read by poppers under a guard: a read after reclamation is a data race.
type stressNode struct {
	val      uint64
	next     *stressNode
	rec      *stressRecord
	poisoned bool
}

// stressRecord is the ledger entry of one push (one incarnation of a node).
type stressRecord struct {
	reclaimed atomic.Int32
}

const stressPoison = 0xdeaddeaddeaddead

type stressEnv struct {
	t    *testing.T
	c    *epoch.Collector
	pool *epoch.Pool[stressNode] // nil: allocate nodes, retire with epoch.Retire
	head atomic.Pointer[stressNode]

	nextVal  atomic.Uint64 // values pushed are 1..nextVal
	retires  atomic.Uint64 // Retire calls that have returned
	failures atomic.Int32
	stop     atomic.Bool
	// ctx ends at the first failure, so that a Barrier looping on a broken
	// collector returns at once.
	ctx    context.Context
	cancel context.CancelFunc
}

// fail reports a failure from any goroutine and stops the workers.
func (env *stressEnv) fail(format string, args ...any) {
	if env.failures.Add(1) <= 10 {
		env.t.Errorf(format, args...)
	}
	env.stop.Store(true)
	env.cancel()
}

// poison is the free function (and the Pool's OnReclaim): it records the
// reclamation in the ledger and overwrites the node. A node reclaimed twice
// panics, failing the test binary at once with the reclaimer's stack: the
// collector that did it may be looping and never return.
func (env *stressEnv) poison(n *stressNode) {
	r := n.rec
	if r == nil {
		panic(fmt.Sprintf("reclaimed a node with no ledger record (reclaimed twice, or never pushed): poisoned=%v val=%#x", n.poisoned, n.val))
	}
	if k := r.reclaimed.Add(1); k != 1 {
		panic(fmt.Sprintf("node reclaimed %d times", k))
	}
	n.poisoned = true
	n.val = stressPoison
	n.next = nil
	n.rec = nil
}

// stressWorker is one goroutine's share: its random source and what it popped.
type stressWorker struct {
	env     *stressEnv
	rng     *rand.Rand
	popped  []uint64
	retired []*stressRecord
}

func (w *stressWorker) push(g *epoch.Guard) {
	env := w.env
	var n *stressNode
	if env.pool != nil {
		n = env.pool.Get(g)
		if *n != (stressNode{}) {
			env.fail("Pool.Get returned a node that is not zeroed: %+v", *n)
			return
		}
	} else {
		n = new(stressNode)
	}
	n.val = env.nextVal.Add(1)
	n.rec = new(stressRecord)
	for {
		h := env.head.Load()
		n.next = h
		if env.head.CompareAndSwap(h, n) {
			return
		}
	}
}

func (w *stressWorker) pop(g *epoch.Guard) {
	env := w.env
	for {
		h := epoch.Load(g, &env.head)
		if h == nil {
			return
		}
		if w.rng.IntN(8) == 0 {
			runtime.Gosched() // widen the window for a premature reclaim
		}
		if h.poisoned {
			env.fail("pop read a reclaimed node (poisoned) under a guard")
			return
		}
		next := h.next
		if !env.head.CompareAndSwap(h, next) {
			continue
		}
		v, rec := h.val, h.rec
		if h.poisoned || rec == nil || v == 0 || v == stressPoison {
			env.fail("popped a reclaimed or recycled node: val=%#x poisoned=%v", v, h.poisoned)
			return
		}
		w.popped = append(w.popped, v)
		w.retired = append(w.retired, rec)
		if env.pool != nil {
			env.pool.Retire(g, h)
		} else {
			epoch.Retire(g, h, env.poison)
		}
		env.retires.Add(1)
		return
	}
}

func (w *stressWorker) op(g *epoch.Guard) {
	if w.rng.IntN(2) == 0 {
		w.push(g)
	} else {
		w.pop(g)
	}
}

// run performs operations until told to stop, entering guards in one of
// three ways: a pooled Enter per operation; a Handle guard per operation,
// sometimes nested in an outer guard of the same Handle; or one Handle guard
// held for the whole run and refreshed between operations (Barrier must
// still complete: a refreshed guard flushes its batch and lets the epoch
// advance).
func (w *stressWorker) run(mode int) {
	env := w.env
	switch mode {
	case 0:
		for !env.stop.Load() {
			g := env.c.Enter()
			w.op(g)
			g.Exit()
		}
	case 1:
		h := env.c.Register()
		for !env.stop.Load() {
			var outer *epoch.Guard
			if w.rng.IntN(8) == 0 {
				outer = h.Enter()
			}
			g := h.Enter()
			w.op(g)
			g.Exit()
			if outer != nil {
				w.op(outer)
				outer.Exit()
			}
		}
		h.Unregister()
	case 2:
		h := env.c.Register()
		g := h.Enter()
		for !env.stop.Load() {
			w.op(g)
			g.Refresh()
		}
		g.Exit()
		h.Unregister()
	}
}

func stressRun(t *testing.T, seed uint64, d time.Duration, batch int, pooled bool) {
	env := &stressEnv{t: t, c: epoch.New(epoch.WithBatchSize(batch))}
	env.ctx, env.cancel = context.WithCancel(context.Background())
	defer env.cancel()
	if pooled {
		env.pool = epoch.NewPool(env.c, epoch.OnReclaim(env.poison))
	}
	n := 4 * runtime.GOMAXPROCS(0)
	workers := make([]*stressWorker, n)
	var wg sync.WaitGroup
	for i := range workers {
		w := &stressWorker{env: env, rng: rand.New(rand.NewPCG(seed, uint64(i)))}
		workers[i] = w
		wg.Go(func() { w.run(i % 3) })
	}
	// Two monitors: Barrier must reclaim everything retired before it, even
	// while the workers keep entering and retiring and another Barrier runs.
	var barriers [2]int
	var slowest [2]time.Duration
	for m := range 2 {
		wg.Go(func() {
			for !env.stop.Load() {
				time.Sleep(time.Millisecond)
				before := env.retires.Load()
				ctx, cancel := context.WithTimeout(env.ctx, stressBarrier)
				began := time.Now()
				err := env.c.Barrier(ctx)
				slowest[m] = max(slowest[m], time.Since(began))
				barriers[m]++
				cancel()
				if err != nil {
					if env.ctx.Err() == nil {
						env.fail("Barrier while workers run: %v", err)
					}
					return
				}
				if st := env.c.Stats(); st.Reclaimed < before {
					env.fail("Barrier returned with %d reclaimed, but %d retired before it began", st.Reclaimed, before)
					return
				}
				if st := env.c.Stats(); st.Guards > n {
					env.fail("Stats().Guards = %d with %d goroutines", st.Guards, n)
					return
				}
			}
		})
	}
	timer := time.AfterFunc(d, func() { env.stop.Store(true) })
	// A broken collector can leave a goroutine spinning forever (a slot
	// that never becomes idle): fail with every stack rather than wait for
	// the test binary's timeout.
	watchdog := time.AfterFunc(d+stressHang, func() {
		buf := make([]byte, 1<<20)
		buf = buf[:runtime.Stack(buf, true)]
		panic(fmt.Sprintf("stress run (seed %#x) still running %v after it should have stopped:\n%s", seed, stressHang, buf))
	})
	defer watchdog.Stop()
	wg.Wait()
	timer.Stop()
	if t.Failed() {
		return
	}

	// Quiescent: everything retired is reclaimed by Barrier, and counted.
	var popped []uint64
	var retired []*stressRecord
	for _, w := range workers {
		popped = append(popped, w.popped...)
		retired = append(retired, w.retired...)
	}
	ctx, cancel := context.WithTimeout(env.ctx, stressBarrier)
	defer cancel()
	require.NoError(t, env.c.Barrier(ctx))
	st := env.c.Stats()
	require.Zero(t, st.Guards, "guards open after the workers exited: %+v", st)
	require.Zero(t, st.Pending, "pending after Barrier: %+v", st)
	require.Equal(t, uint64(len(retired)), st.Retired, "Stats().Retired vs nodes retired: %+v", st)
	require.Equal(t, st.Retired, st.Reclaimed, "%+v", st)
	require.NoError(t, env.c.Close())
	require.Zero(t, env.c.Stats().Pending)

	// Ledger: every retired node was reclaimed exactly once.
	for i, r := range retired {
		if k := r.reclaimed.Load(); k != 1 {
			t.Fatalf("retired node %d of %d reclaimed %d times", i, len(retired), k)
		}
	}
	// What is left in the stack was never reclaimed.
	pushed := env.nextVal.Load()
	var left []uint64
	for h := env.head.Load(); h != nil; h = h.next {
		if uint64(len(left)) > pushed {
			t.Fatalf("the stack holds more nodes than were pushed (%d): a cycle", pushed)
		}
		if h.poisoned || h.rec == nil || h.rec.reclaimed.Load() != 0 {
			t.Fatalf("node %#x still in the stack was reclaimed (poisoned=%v)", h.val, h.poisoned)
		}
		left = append(left, h.val)
	}
	// Values: pushed = popped + left, each exactly once.
	seen := make([]uint8, pushed+1)
	var bad []string
	for _, v := range append(popped, left...) {
		if v == 0 || v > pushed {
			bad = append(bad, fmt.Sprintf("value %#x was never pushed", v))
			continue
		}
		seen[v]++
	}
	for v := uint64(1); v <= pushed; v++ {
		if seen[v] != 1 {
			bad = append(bad, fmt.Sprintf("value %d popped or left %d times", v, seen[v]))
		}
	}
	if len(bad) > 0 {
		t.Fatalf("%d of %d values wrong (ABA?), first: %v", len(bad), pushed, bad[:min(len(bad), 10)])
	}
	require.Equal(t, int(pushed), len(popped)+len(left), "pushed = popped + left in the stack")
	t.Logf("seed %#x: %d pushed, %d popped, %d left, %d retired, epoch %d; %d concurrent Barriers, slowest %v",
		seed, pushed, len(popped), len(left), len(retired), st.Epoch, barriers[0]+barriers[1], max(slowest[0], slowest[1]))
}

// TestStressRCUSwap is the RCU pattern: readers load a shared config under
// guards that stay open for the whole run and are only refreshed (or under
// a pooled guard per read), while a writer swaps in a new config and retires
// the old one (batch size 1: every retire tries to reclaim), and now and
// then, after a pause that lets the readers catch up with the epoch, waits
// for it with Barrier. Barrier must return, because a refreshed guard cannot
// hold the old config, and the old config must be reclaimed (poisoned) by
// then, while no reader ever sees a poisoned one.
func TestStressRCUSwap(t *testing.T) {
	stressSoak(t, stressRCU)
}

// rcuConfig is the shared value; a and b are always equal while it is live.
type rcuConfig struct {
	a, b     uint64
	poisoned bool
	freed    atomic.Int32
}

func stressRCU(t *testing.T, seed uint64, d time.Duration) {
	c := epoch.New(epoch.WithBatchSize(1))
	env := &stressEnv{t: t, c: c}
	env.ctx, env.cancel = context.WithCancel(context.Background())
	defer env.cancel()
	var cur atomic.Pointer[rcuConfig]
	cur.Store(&rcuConfig{a: 1, b: 1})
	free := func(x *rcuConfig) {
		if k := x.freed.Add(1); k != 1 {
			panic(fmt.Sprintf("config %#x reclaimed %d times", x.a, k))
		}
		x.poisoned = true
		x.a, x.b = stressPoison, 0
	}

	// The readers run until the writer is done, so that a Barrier stuck
	// on a refreshing reader times out instead of ending with the run.
	var writerDone atomic.Bool
	var wg sync.WaitGroup
	for i := range 2 * runtime.GOMAXPROCS(0) {
		rng := rand.New(rand.NewPCG(seed, uint64(i)))
		read := func(g *epoch.Guard) {
			x := epoch.Load(g, &cur)
			if rng.IntN(16) == 0 {
				runtime.Gosched()
			}
			if x.poisoned || x.a != x.b {
				env.fail("reader saw a reclaimed config: a=%#x b=%#x poisoned=%v", x.a, x.b, x.poisoned)
			}
		}
		wg.Go(func() {
			if i%2 == 1 {
				for !writerDone.Load() {
					g := c.Enter()
					read(g)
					g.Exit()
				}
				return
			}
			h := c.Register()
			defer h.Unregister()
			g := h.Enter()
			defer g.Exit()
			for !writerDone.Load() {
				read(g)
				g.Refresh()
			}
		})
	}

	var retired []*rcuConfig
	var barriers int
	var slowest time.Duration
	wg.Go(func() {
		defer writerDone.Store(true)
		rng := rand.New(rand.NewPCG(seed, 1<<32))
		for gen := uint64(2); !env.stop.Load(); gen++ {
			g := c.Enter()
			old := cur.Swap(&rcuConfig{a: gen, b: gen})
			epoch.Retire(g, old, free)
			g.Exit()
			retired = append(retired, old)
			if rng.IntN(4) != 0 {
				continue
			}

			time.Sleep(time.Duration(rng.IntN(100)) * time.Microsecond)
			barriers++
			ctx, cancel := context.WithTimeout(env.ctx, stressBarrier)
			began := time.Now()
			err := c.Barrier(ctx)
			slowest = max(slowest, time.Since(began))
			cancel()
			if err != nil {
				if env.ctx.Err() == nil {
					env.fail("Barrier with readers refreshing their guards: %v", err)
				}
				return
			}
			if old.freed.Load() != 1 {
				env.fail("Barrier returned before config %d, retired before it, was reclaimed", gen-1)
				return
			}
		}
	})
	timer := time.AfterFunc(d, func() { env.stop.Store(true) })
	watchdog := time.AfterFunc(d+stressHang, func() {
		buf := make([]byte, 1<<20)
		buf = buf[:runtime.Stack(buf, true)]
		panic(fmt.Sprintf("RCU stress run (seed %#x) still running %v after it should have stopped:\n%s", seed, stressHang, buf))
	})
	defer watchdog.Stop()
	wg.Wait()
	timer.Stop()
	if t.Failed() {
		return
	}
	require.NoError(t, c.Close())
	for _, x := range retired {
		require.EqualValues(t, 1, x.freed.Load(), "retired config reclaimed once")
	}
	last := cur.Load()
	require.Zero(t, last.freed.Load(), "the current config was reclaimed")
	require.False(t, last.poisoned)
	st := c.Stats()
	require.Equal(t, uint64(len(retired)), st.Reclaimed, "%+v", st)
	t.Logf("seed %#x: %d swaps, %d Barriers, slowest %v", seed, len(retired), barriers, slowest)
}
