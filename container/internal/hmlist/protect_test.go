package hmlist

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/go-reclaim/reclaim/epoch"
	"github.com/go-reclaim/reclaim/hazard"
)

// TestRevalidateReservesRecycled drives revalidate through the case
// its documentation gives for looping until Reserve extends nothing. A
// robust walk loads node p from a link; before its Reserve extends its
// reservation, p is deleted and reclaimed; after the extension the Pool
// hands p's memory out again, born at a later era, and it is linked at the
// same link. Reading the link once then sees p, but the reservation does
// not cover the new p: revalidate must extend the reservation again and
// re-read, or the new p can be reclaimed under the walk. (Whether the Pool
// hands out that very address depends on which processor's free list it
// lands on, so the test links a node born after the extension and
// revalidates it as the pointer the walk had loaded: to revalidate, which
// sees only addresses, the two are the same.) After the revalidation the
// node is deleted, and it must stay unreclaimed until the walk's guard
// exits.
func TestRevalidateReservesRecycled(t *testing.T) {
	reclaimed := map[*Node[int, string]]int{}
	c := epoch.New(epoch.WithRobust(), epoch.WithBatchSize(1), epoch.WithMaxBatchAge(0))
	ns := &Nodes[int, string]{c: c, robust: true, epoch: epoch.NewPool(c,
		epoch.OnReclaim(func(n *Node[int, string]) { reclaimed[n]++ }))}
	l := new(List[int, string])
	writer := c.Register()
	write := func(op func(o Op[int, string])) {
		g := writer.Enter()
		defer g.Exit()
		op(ns.Epoch(g))
	}
	advance := func() {
		e := c.Stats().Epoch
		g := writer.Enter()
		epoch.Retire(g, new(int), func(*int) {})
		g.Exit()
		require.Greater(t, c.Stats().Epoch, e, "the era advanced")
	}
	reader := c.Enter()
	advance()
	// The walk has loaded p (and p has been reclaimed since): its Reserve
	// extends the reservation.
	require.False(t, reader.Reserve(), "the reader's Reserve extended its reservation")
	advance()
	write(func(o Op[int, string]) { l.Insert(o, 1, "b") })
	p := nodeAt(l, 1) // p again, born after the extension

	o := ns.Epoch(reader)
	require.True(t, o.revalidate(&l.head, p), "the link holds p, unmarked")
	write(func(o Op[int, string]) { l.Delete(o, 1) })
	c.Flush()
	require.Zero(t, reclaimed[p], "p, revalidated, was reclaimed under the reader")
	require.Equal(t, "b", p.Val)
	reader.Exit()
	writer.Unregister()
	require.NoError(t, c.Close())
	require.Equal(t, 1, reclaimed[p])
}

// TestDoneResetsHazardPointers: an operation leaves both of its
// hazard pointers reset, whichever slot its walk ended on, so that an idle
// Array holds no node back from Flush.
func TestDoneResetsHazardPointers(t *testing.T) {
	for _, key := range []int{1, 2, 3} {
		reclaimed := map[*Node[int, string]]bool{}
		d := hazard.New()
		ns := &Nodes[int, string]{d: d, hazard: hazard.NewPool(d,
			hazard.OnReclaim(func(n *Node[int, string]) { reclaimed[n] = true }))}
		reader, writer := d.AcquireArray(HazardPointers), d.AcquireArray(HazardPointers)
		l := new(List[int, string])
		for _, k := range []int{1, 2, 3} {
			require.True(t, l.Insert(ns.Hazard(writer), k, "x"))
		}
		nodes := []*Node[int, string]{nodeAt(l, 1), nodeAt(l, 2), nodeAt(l, 3)}
		_, ok := l.Get(ns.Hazard(reader), key)
		require.True(t, ok)
		_, ok = l.Put(ns.Hazard(reader), key, "y")
		require.True(t, ok)
		nodes = append(nodes, nodeAt(l, key))
		for _, k := range []int{1, 2, 3} {
			_, ok := l.Delete(ns.Hazard(writer), k)
			require.True(t, ok)
		}
		d.Flush()
		for i, n := range nodes {
			require.True(t, reclaimed[n], "after Get(%d) and Put(%d): node %d of 4 not reclaimed: the reader's idle Array still protects it", key, key, i+1)
		}
		reader.Release()
		writer.Release()
		require.NoError(t, d.Close())
	}
}
