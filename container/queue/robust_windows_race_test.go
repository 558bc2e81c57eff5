//go:build race

package queue

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/go-reclaim/reclaim/container/internal/yield"
	"github.com/go-reclaim/reclaim/epoch"
)

// windowsRig is a robust Epoch queue whose collector seals each retirement
// alone, whose pool records and poisons what it reclaims (value -1, next
// nil, as a node zeroed for reuse), and whose writer stands for another
// goroutine, run from a yield.Hook.
type windowsRig struct {
	c         *epoch.Collector
	q         *Epoch[int]
	w         *epoch.Handle
	reclaimed map[*node[int]]bool // written by the Flush in a hook, on the test's goroutine
}

func newWindowsRig() *windowsRig {
	r := &windowsRig{
		c:         epoch.New(epoch.WithRobust(), epoch.WithBatchSize(1), epoch.WithMaxBatchAge(0)),
		reclaimed: map[*node[int]]bool{},
	}
	r.q = &Epoch[int]{robust: true, c: r.c, pool: epoch.NewPool(r.c, epoch.OnReclaim(func(n *node[int]) {
		r.reclaimed[n] = true
		n.value = -1
		n.next.Store(nil)
	}))}
	r.w = r.c.Register()
	return r
}

func (r *windowsRig) write(f func(g *epoch.Guard)) {
	g := r.w.Enter()
	defer g.Exit()
	f(g)
}

func (r *windowsRig) enq(v int) { r.write(func(g *epoch.Guard) { r.q.Enqueue(g, v) }) }

func (r *windowsRig) deq(t *testing.T, want int) {
	t.Helper()
	r.write(func(g *epoch.Guard) {
		v, ok := r.q.Dequeue(g)
		require.True(t, ok)
		require.Equal(t, want, v)
	})
}

// advance moves the era on without touching the queue: a retirement seals
// a batch alone.
func (r *windowsRig) advance(t *testing.T) {
	e := r.c.Stats().Epoch
	r.write(func(g *epoch.Guard) { epoch.Retire(g, new(int), func(*int) {}) })
	require.Greater(t, r.c.Stats().Epoch, e, "the era advanced")
}

// hooked runs op with steps[n] taken at the nth yield point op reaches
// (counting from 1; the points of the steps' own operations do not count)
// and returns how many points op reached.
func hooked(steps map[int]func(), op func()) int {
	n := 0
	var hook func()
	hook = func() {
		n++
		if step := steps[n]; step != nil {
			yield.Hook = nil
			defer func() { yield.Hook = hook }()
			step()
		}
	}
	yield.Hook = hook
	defer func() { yield.Hook = nil }()
	op()
	return n
}

// TestRobustDequeueReservesSuccessor: a robust Dequeue holds the head h,
// reserved, and loads its successor n. n may have been born after that
// reservation, so before it reads n.value it must reserve n and check
// that h is still the head (protect, then the head check): the head check
// alone shows that n was in the queue then, not that it stays unreclaimed
// until the read. Point 2 comes between the head's reservation and the
// load of n: the era moves on and N7 is linked after the dummy D. Point 4
// comes after the checks and before the read of N7's value: the writer
// dequeues 7 and 8, which retires N7, and flushes. N7 must not be
// reclaimed; a Dequeue that skipped the reservation reads the poison.
func TestRobustDequeueReservesSuccessor(t *testing.T) {
	r := newWindowsRig()
	r.enq(1)
	r.deq(t, 1) // D, started, empty
	var n7 *node[int]
	reader := r.c.Enter()
	var v int
	var ok bool
	n := hooked(map[int]func(){
		2: func() {
			r.advance(t)
			r.enq(7)
			n7 = r.q.q.tail.Load()
		},
		4: func() {
			r.deq(t, 7) // retires D, which the reader holds
			r.enq(8)
			r.deq(t, 8) // retires N7
			r.c.Flush()
			r.c.Flush()
		},
	}, func() { v, ok = r.q.Dequeue(reader) })
	require.GreaterOrEqual(t, n, 4, "the dequeuer reached the read of the successor's value")
	require.False(t, r.reclaimed[n7], "the successor the dequeuer was about to read was reclaimed under it")
	reader.Exit()
	require.False(t, ok, "the value was dequeued twice")
	require.Zero(t, v)
	r.w.Unregister()
	require.NoError(t, r.c.Close())
}

// TestRobustEnqueueReservesTailItLoaded: a robust Enqueue loads the tail
// and then reserves it, and must load it again if the reservation had to
// move (epoch.Load): the node loaded before the reservation took effect may
// have been dequeued, retired and reclaimed meanwhile. The enqueuer's first
// tail, N1, is stale: at point 2 the writer links N0 after it, moves the
// era on and links N3, born after the enqueuer's reservation. The enqueuer
// helps the tail on and loads it again: N3. At point 3, between that load
// and the reservation, the writer dequeues past N3 and flushes: N3 is
// reclaimed (poisoned with a nil next, as a node zeroed for reuse). An
// Enqueue that reserved without loading again would link 2 after N3, no
// longer in the queue: lost.
func TestRobustEnqueueReservesTailItLoaded(t *testing.T) {
	r := newWindowsRig()
	r.enq(1) // D -> N1
	var n3 *node[int]
	reader := r.c.Enter()
	n := hooked(map[int]func(){
		2: func() { // the reader holds t = N1, reserved
			r.enq(0)    // N1 -> N0
			r.deq(t, 1) // retires D: the era moves
			r.enq(0)
			r.deq(t, 0)
			r.enq(3) // N3, born after the reader's reservation
			n3 = r.q.q.tail.Load()
		},
		3: func() { // the reader has loaded N3 and not yet reserved
			require.Same(t, n3, r.q.q.tail.Load())
			r.deq(t, 0)
			r.deq(t, 3)
			r.enq(4)    // N3 -> N4
			r.deq(t, 4) // retires N3
			r.c.Flush()
			r.c.Flush()
		},
	}, func() { r.q.Enqueue(reader, 2) })
	reader.Exit()
	require.GreaterOrEqual(t, n, 3, "the enqueuer did not load the tail again")
	require.True(t, r.reclaimed[n3], "N3 was reclaimed in the window")
	r.write(func(g *epoch.Guard) {
		v, ok := r.q.Dequeue(g)
		require.True(t, ok, "the value enqueued across the window was lost: linked after a reclaimed tail")
		require.Equal(t, 2, v)
		_, ok = r.q.Dequeue(g)
		require.False(t, ok)
	})
	r.w.Unregister()
	require.NoError(t, r.c.Close())
}
