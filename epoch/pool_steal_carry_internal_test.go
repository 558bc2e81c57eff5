package epoch

import (
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// A steal of a limbo that holds both an exited guard's nodes and the open
// guard's splits it (sealRobust's carry, which no other test reaches
// through stealLimbo): the exited guard's nodes are sealed apart, unmarked,
// and a sweep frees them at once; the open guard's stay in the limbo, in a
// batch the stealer lends, where its next Retire appends; and once its own
// seal has sealed them whole they are held by its pin, not reclaimed
// before it exits, however the sweeps judge. Everything is reclaimed
// exactly once after the guards exit.
func TestStealSplitCarriesTheOpenGuardsNodes(t *testing.T) {
	const batch = 8
	var (
		mu        sync.Mutex
		reclaimed = map[int]int{}
		ids       int
	)
	c := New(WithRobust(), WithMaxBatchAge(0), WithBatchSize(batch))
	p := NewPool(c, OnReclaim(func(n *stealNode) {
		mu.Lock()
		reclaimed[n.v]++
		mu.Unlock()
	}))
	retire := func(g *Guard) int {
		x := p.Get(g)
		ids++
		x.v = ids
		p.Retire(g, x)
		return ids
	}
	count := func(id int) int {
		mu.Lock()
		defer mu.Unlock()
		return reclaimed[id]
	}
	ha, hb := c.Register(), c.Register()

	g0 := ha.Enter() // an earlier guard of a's slot
	old := retire(g0)
	g0.Exit()
	c.epoch.Add(1) // the next guards enter after old's retirement era

	ga := ha.Enter()
	mine := []int{retire(ga)}
	a := p.cached(ga)
	require.Len(t, a.limbo.nodes, 2)
	require.Equal(t, 1, a.curStart, "the open guard's nodes do not start after old")

	gb := hb.Enter()
	retire(gb) // b's share, which lends the carry's batch
	b := p.cached(gb)
	require.NotSame(t, a, b)
	lent := b.spares
	for range 2 {
		if o, turn := p.visit(b); o != nil {
			require.Same(t, a, o)
			p.askLimbo(o, turn)
			break
		}
	}
	require.NotZero(t, a.want.Load()&limboAsked, "askLimbo did not ask")
	c.sharedHeavy(true) // a fence after the ask's stamp
	sealed := len(a.sealed)
	p.stealLimbo(a, b)
	require.EqualValues(t, 1, p.steals.Load())
	require.Zero(t, a.want.Load())
	require.Len(t, a.sealed, sealed+1)
	s := a.sealed[sealed]
	require.Len(t, s.nodes, 1)
	require.Equal(t, old, s.nodes[0].v, "the sealed part is not the exited guard's node")
	require.False(t, s.heldBy(a.owner), "the exited guard's node is marked as the open guard's")
	require.Len(t, a.limbo.nodes, 1)
	require.Equal(t, mine[0], a.limbo.nodes[0].v, "the open guard's node was not carried")
	require.Zero(t, a.curStart)
	require.Equal(t, a.owner.pin.Load(), a.curPin)
	if lent[0] != nil || lent[1] != nil {
		require.True(t, a.limbo == lent[0] || a.limbo == lent[1], "the carry is not b's spare")
	}
	carry := a.limbo

	c.Flush() // a sweep: nothing reaches old, ga may hold its own
	require.Equal(t, 1, count(old), "the sweep did not free the exited guard's node")
	require.Zero(t, count(mine[0]), "the open guard's carried node was reclaimed")

	mine = append(mine, retire(ga))
	require.Same(t, carry, a.limbo, "the holder's Retire did not append to the carry")
	for a.limbo != nil {
		mine = append(mine, retire(ga)) // until its own seal seals the carry whole
	}
	last := a.sealed[len(a.sealed)-1]
	require.Len(t, last.nodes, batch)
	require.True(t, last.heldBy(a.owner), "the open guard's sealed batch is not marked as its")
	c.Flush()
	for _, id := range mine {
		require.Zero(t, count(id), "node %d, retired by the open guard, was reclaimed", id)
	}

	ga.Exit()
	gb.Exit()
	c.Flush() // both slots idle: flushed, and swept
	require.Zero(t, c.Stats().Pending)
	ha.Unregister()
	hb.Unregister()
	require.NoError(t, c.Close())
	for id := 1; id <= ids; id++ {
		require.Equal(t, 1, count(id), "node %d reclaimed %d times", id, count(id))
	}
}
