package hazard_test

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/go-reclaim/reclaim/hazard"
)

type poolNode struct {
	id   uint64 // 0 once reclaimed: Pool zeroes what it recycles
	next *poolNode
}

func TestPoolGetReturnsZeroedObjects(t *testing.T) {
	d := hazard.New(hazard.WithThreshold(1))
	p := hazard.NewPool[poolNode](d)
	require.Same(t, d, p.Domain())
	seen := map[*poolNode]bool{}
	for i := range 1000 {
		n := p.Get()
		require.Zero(t, *n, "Get %d returned a dirty object", i)
		seen[n] = true
		n.id, n.next = uint64(i+1), n
		p.Retire(n)
	}
	require.NoError(t, d.Barrier(waitCtx(t)))
	reused := 0
	for range 1000 {
		n := p.Get()
		require.Zero(t, *n)
		if seen[n] {
			reused++
		}
	}
	require.Positive(t, reused, "no object came back from the pool")
	require.NoError(t, d.Close())
}

// An object that a hazard pointer protects is not handed out again, however
// many others are recycled meanwhile.
func TestPoolDoesNotRecycleProtected(t *testing.T) {
	d := hazard.New(hazard.WithThreshold(1))
	p := hazard.NewPool[poolNode](d)
	var src atomic.Pointer[poolNode]
	n := p.Get()
	n.id = 42
	src.Store(n)
	hp := d.Acquire()
	require.Same(t, n, hazard.Protect(hp, &src))
	src.Store(nil)
	p.Retire(n)
	for range 10_000 {
		m := p.Get()
		require.NotSame(t, n, m, "a protected object came out of Get")
		p.Retire(m)
	}
	ctx, cancel := shortCtx(t)
	defer cancel()
	require.ErrorIs(t, d.Barrier(ctx), context.DeadlineExceeded, "Barrier waits for the protected object")
	require.EqualValues(t, 1, d.Stats().Pending, "all but the protected object reclaimed")
	require.EqualValues(t, 42, n.id, "the protected object was zeroed")
	hp.Release()
	require.NoError(t, d.Barrier(waitCtx(t)))
	require.Zero(t, n.id, "reclaimed object not zeroed")
	require.NoError(t, d.Close())
}

// Many goroutines push and pop a Treiber stack whose nodes come from a
// Pool, while every pop checks, with the node protected, that its id does
// not change: a node recycled while protected would be zeroed and reused
// under the reader (and under -race the zeroing races with the read).
// Every id pushed is popped exactly once.
func TestStressPoolStack(t *testing.T) {
	d := hazard.New(hazard.WithThreshold(8))
	p := hazard.NewPool[poolNode](d)
	var head atomic.Pointer[poolNode]
	var nextID atomic.Uint64
	workers := stressWorkers()
	popped := make([][]uint64, workers)
	pushed := make([]uint64, workers)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			hp := d.Acquire()
			defer hp.Release()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				if i%2 == 0 {
					n := p.Get()
					if n.id != 0 || n.next != nil {
						t.Errorf("Get returned a dirty node %+v", *n)
						return
					}
					n.id = nextID.Add(1)
					pushed[w]++
					for {
						n.next = head.Load()
						if head.CompareAndSwap(n.next, n) {
							break
						}
					}
					continue
				}
				for {
					n := hazard.Protect(hp, &head)
					if n == nil {
						break
					}
					id := n.id
					next := n.next
					if head.CompareAndSwap(n, next) {
						if n.id != id || id == 0 {
							t.Errorf("node changed under its hazard pointer: id %d, then %d", id, n.id)
						}
						hp.Reset()
						popped[w] = append(popped[w], id)
						p.Retire(n)
						break
					}
				}
				hp.Reset()
			}
		})
	}
	time.Sleep(stressDuration())
	close(stop)
	wg.Wait()
	// Drain what is left.
	hp := d.Acquire()
	for n := hazard.Protect(hp, &head); n != nil; n = hazard.Protect(hp, &head) {
		head.Store(n.next)
		popped[0] = append(popped[0], n.id)
		hp.Reset()
		p.Retire(n)
	}
	hp.Release()
	seen := map[uint64]bool{}
	var total uint64
	for w := range workers {
		total += pushed[w]
		for _, id := range popped[w] {
			require.False(t, seen[id], "id %d popped twice", id)
			seen[id] = true
		}
	}
	require.EqualValues(t, total, len(seen), "pushed vs popped")
	require.NoError(t, d.Barrier(waitCtx(t)))
	st := d.Stats()
	require.Equal(t, st.Retired, st.Reclaimed)
	require.EqualValues(t, total, st.Retired)
	require.NoError(t, d.Close())
}

// Issue 12 item 12: OnReclaim sees each object as it was retired, once no
// hazard pointer protects it, before the Pool zeroes it and hands it out
// again.
func TestPoolOnReclaim(t *testing.T) {
	d := hazard.New(hazard.WithMaxBatchAge(0)) // the hook runs on this goroutine
	var seen []uint64
	p := hazard.NewPool(d, hazard.OnReclaim(func(n *poolNode) {
		seen = append(seen, n.id)
		n.id = ^uint64(0) // poison: zeroed before Get returns it
	}))
	var src atomic.Pointer[poolNode]
	a, b := p.Get(), p.Get()
	a.id, b.id = 1, 2
	src.Store(b)
	hp := d.Acquire()
	require.Same(t, b, hazard.Protect(hp, &src))
	src.Store(nil)
	p.Retire(a)
	p.Retire(b)
	d.Flush()
	require.Equal(t, []uint64{1}, seen, "OnReclaim ran for the protected object")
	hp.Release()
	d.Flush()
	require.Equal(t, []uint64{1, 2}, seen)
	for range 2 {
		n := p.Get()
		require.Zero(t, *n, "OnReclaim's poison was not zeroed")
	}
	require.NoError(t, d.Close())
	require.Len(t, seen, 2)
}

// A panicking OnReclaim propagates like a free function's panic; the
// object is dropped, not recycled, and the others are still reclaimed.
func TestPoolOnReclaimPanics(t *testing.T) {
	d := hazard.New(hazard.WithMaxBatchAge(0))
	var hooked atomic.Int32
	p := hazard.NewPool(d, hazard.OnReclaim(func(n *poolNode) {
		hooked.Add(1)
		if n.id == 7 {
			panic("bad node")
		}
	}))
	for i := range 10 {
		n := p.Get()
		n.id = uint64(i + 1)
		p.Retire(n)
	}
	require.PanicsWithValue(t, "bad node", d.Flush)
	require.NoError(t, d.Barrier(waitCtx(t)))
	require.EqualValues(t, 10, hooked.Load())
	for range 20 {
		require.NotEqualValues(t, 7, p.Get().id)
	}
	require.NoError(t, d.Close())
}

// Processors that GOMAXPROCS adds after NewPool have no free list of their
// own: objects reclaimed on them, a run at a time or one by one, go
// through the shared lists, zeroed, and come back out of Get.
func TestPoolAfterGOMAXPROCSGrows(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	d := hazard.New(hazard.WithThreshold(1))
	p := hazard.NewPool[poolNode](d) // free lists for one processor
	runtime.GOMAXPROCS(4)
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := range 2000 {
				n := p.Get()
				if *n != (poolNode{}) {
					t.Errorf("worker %d, Get %d: a dirty object", w, i)
					return
				}
				n.id, n.next = uint64(i+1), n
				p.Retire(n)
			}
		})
	}
	wg.Wait()
	require.NoError(t, d.Barrier(waitCtx(t)))
	require.Zero(t, d.Stats().Pending)
	for range 1000 {
		require.Zero(t, *p.Get())
	}
	require.NoError(t, d.Close())
}
