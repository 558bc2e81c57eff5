//go:build race

package stack

import (
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/go-reclaim/reclaim/container/internal/yield"
	"github.com/go-reclaim/reclaim/epoch"
)

// A robust guard protects only what its reservation covers, so Pop must
// load the top node with epoch.Load, which raises the reservation. The
// popper enters, then another goroutine's steps (a Handle of this one)
// move the era on twice and push H, born after the popper's reservation.
// The popper loads H; at the yield point before its compare-and-swap the
// writer pops H (retiring it), flushes and drains the pool. H must not be
// reclaimed or handed out while the popper holds it. With a plain load of
// the head in Pop, H is reclaimed under it (found missing by an
// independent review of the containers: no test caught that load).
func TestRobustPopReservesItsTop(t *testing.T) {
	c := epoch.New(epoch.WithRobust(), epoch.WithBatchSize(1), epoch.WithMaxBatchAge(0))
	reclaimed := map[*node[int]]bool{} // written by the Flush in the hook, on this goroutine
	s := &Epoch[int]{c: c, pool: epoch.NewPool(c,
		epoch.OnReclaim(func(n *node[int]) { reclaimed[n] = true }))}
	w := c.Register()
	write := func(f func(g *epoch.Guard)) {
		g := w.Enter()
		defer g.Exit()
		f(g)
	}
	pop := func(want int) {
		write(func(g *epoch.Guard) {
			v, ok := s.Pop(g)
			require.True(t, ok)
			require.Equal(t, want, v)
		})
	}

	popper := c.Enter()
	for i := range 2 { // each Retire seals a batch of one: the era moves
		write(func(g *epoch.Guard) { s.Push(g, i) })
		pop(i)
	}
	write(func(g *epoch.Guard) { s.Push(g, 7) }) // H
	h := s.head.Load()

	var grabbed []*node[int]
	points := 0
	yield.Hook = func() { // the popper holds H
		points++
		yield.Hook = nil
		pop(7) // retires H
		c.Flush()
		c.Flush()
		write(func(g *epoch.Guard) {
			for range 32 {
				grabbed = append(grabbed, s.pool.Get(g)) // recycled nodes first
			}
		})
	}
	func() {
		defer func() { yield.Hook = nil }()
		_, ok := s.Pop(popper) // its compare-and-swap fails: H is gone, and so is everything
		require.False(t, ok)
	}()
	popper.Exit()
	require.Equal(t, 1, points, "the popper did not reach its yield point")
	require.False(t, reclaimed[h], "the node the popper loaded was reclaimed under it")
	require.False(t, slices.Contains(grabbed, h), "the node the popper loaded was recycled under it")
	w.Unregister()
	require.NoError(t, c.Close())
}
