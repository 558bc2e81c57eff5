package epoch_test

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/go-reclaim/reclaim/epoch"
	"github.com/go-reclaim/reclaim/stress"
)

// plainNode has a plain field, so that the race detector sees a read of a
// recycled node race with Get zeroing it.
type plainNode struct{ val int }

// readAfterRecycle is the scenario of TestRobustPlainLoadIsCaught: a reader
// enters, the era moves on, a node is pushed and the reader loads it,
// through epoch.Load if viaLoad, or with a plain atomic load that the
// robust mode's contract forbids, and reads its field; meanwhile, with no
// synchronization from that read, a writer pops the node, retires it,
// flushes, and takes nodes from the Pool until it gets the node back.
// Without a reservation the node is recycled under the reader. The Pool
// passes reclaimed batches through a sync.Pool, which under the race
// detector drops some at random, so the writer tries up to attempts nodes.
func readAfterRecycle(t *testing.T, viaLoad bool) {
	const attempts = 10
	c := epoch.New(epoch.WithRobust(), epoch.WithBatchSize(1), epoch.WithMaxBatchAge(0))
	pool := epoch.NewPool[plainNode](c)
	var head atomic.Pointer[plainNode]
	entered, done := make(chan struct{}), make(chan struct{})
	pushed := make([]chan struct{}, attempts)
	for i := range pushed {
		pushed[i] = make(chan struct{})
	}
	var wg sync.WaitGroup
	wg.Go(func() { // the reader
		g := c.Enter()
		close(entered)
		for _, ch := range pushed {
			<-ch
			var n *plainNode
			if viaLoad {
				n = epoch.Load(g, &head)
			} else {
				n = head.Load() // misuse: the reservation stays at the era g entered at
			}
			if n.val != 42 {
				t.Errorf("the reader read %d", n.val)
			}
		}
		<-done // the guard stays open while the writer recycles
		g.Exit()
	})
	<-entered
	w := c.Register()
	recycled := 0
	for _, ch := range pushed {
		g := w.Enter() // the era moves past the reader's
		epoch.Retire(g, new(int), func(*int) {})
		n := pool.Get(g)
		n.val = 42
		head.Store(n)
		g.Exit()
		close(ch)
		time.Sleep(5 * time.Millisecond) // let the reader read, without synchronizing with it
		g = w.Enter()
		head.Store(nil)
		pool.Retire(g, n)
		g.Exit()
		c.Flush()
		g = w.Enter()
		for range 4 {
			if pool.Get(g) == n { // Get zeroed it: a write racing with the reader's read
				recycled++
			}
		}
		g.Exit()
	}
	close(done)
	wg.Wait()
	w.Unregister()
	require.NoError(t, c.Close())
	t.Logf("nodes recycled under the reader: %d of %d", recycled, attempts)
	if viaLoad {
		require.Zero(t, recycled, "a node was recycled while a guard that loaded it through Load was open")
	}
}

// TestRobustPlainLoadChild and TestRobustLoadChild run only as children of
// TestRobustPlainLoadIsCaught.
func TestRobustPlainLoadChild(t *testing.T) {
	if !stress.InChild() {
		t.Skip("run by TestRobustPlainLoadIsCaught")
	}
	readAfterRecycle(t, false)
}

func TestRobustLoadChild(t *testing.T) {
	if !stress.InChild() {
		t.Skip("run by TestRobustPlainLoadIsCaught")
	}
	readAfterRecycle(t, true)
}

// In the robust mode a reader that loads a node without epoch.Load (or
// Guard.Reserve) does not protect it: the race detector reports the read
// racing with the Pool recycling the node. The same reader through Load is
// clean.
func TestRobustPlainLoadIsCaught(t *testing.T) {
	if !stress.RaceEnabled {
		t.Skip("needs go test -race")
	}
	bad := stress.RunChild(t, "TestRobustPlainLoadChild")
	require.True(t, bad.Raced, "the race detector missed a read of a node recycled under a plain load:\n%s", bad.Output)
	good := stress.RunChild(t, "TestRobustLoadChild")
	require.False(t, good.Failed, "the same reader through epoch.Load failed:\n%s", good.Output)
}
