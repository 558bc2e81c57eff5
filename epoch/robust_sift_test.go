package epoch_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/go-reclaim/reclaim/epoch"
)

// A sealed batch holds nodes retired at different eras: sift frees those
// retired before a stalled reader entered and keeps the one it loaded,
// which must keep its own retirement era when the batch is compacted, so
// that later sifts (the seal's own, and the sweeps of Flush) still find it
// held. The batch is also split by sealRobust first (its last node was
// retired under the guard that sealed it).
func TestRobustSiftKeepsEachNodesRetirementEra(t *testing.T) {
	c := epoch.New(epoch.WithRobust(), epoch.WithMaxBatchAge(0)) // batches of 64
	s := newRobustStack(c)
	w := c.Register()
	g := w.Enter()
	s.push(g, 42) // B
	for i := range 16 {
		s.push(g, int64(100+i)) // A (the first popped) and 15 more
	}
	g.Exit()
	g = w.Enter()
	a := epoch.Load(g, &s.head)
	for range 16 { // 16 retirements: the era moves on after them (eraStride)
		_, ok := s.pop(g)
		require.True(t, ok)
	}
	g.Exit()
	reader := c.Enter() // enters after A's retirement
	b := epoch.Load(reader, &s.head)
	require.EqualValues(t, 42, b.val.Load())
	g = w.Enter()
	v, ok := s.pop(g) // B, retired while the reader is in
	require.True(t, ok)
	require.EqualValues(t, 42, v)
	g.Exit()
	s.churn(w, 64-17) // fills the batch: one seal, one sift
	require.EqualValues(t, robustPoison, a.val.Load(), "precondition: the first sift freed A, retired before the reader entered")
	for i := range 20 { // more seals (resifting every resiftEvery scans) and sweeps
		s.churn(w, 64)
		switch i % 4 {
		case 0: // sweepLocals judges the slot's sealed batches (its guard is open)
			g := w.Enter()
			c.Flush()
			g.Exit()
		case 2: // the idle slot hands them over: reclaimOrphans sifts them
			c.Flush()
		}
		require.EqualValues(t, 42, b.val.Load(), "round %d: B was reclaimed while the reader that loaded it is open", i)
	}
	reader.Exit()
	c.Flush()
	require.EqualValues(t, robustPoison, b.val.Load(), "B was not reclaimed after the reader exited")
	w.Unregister()
	require.NoError(t, c.Close())
}

// The same, with OnReclaim panicking on the first node the first sift
// frees: the panic reaches the Retire that sealed, the sealed batch keeps
// B with its own era, and later sifts still find B held.
func TestRobustSiftKeepsErasAfterOnReclaimPanics(t *testing.T) {
	c := epoch.New(epoch.WithRobust(), epoch.WithMaxBatchAge(0))
	panicked, armed := false, false
	s := &robustStack{pool: epoch.NewPool(c, epoch.OnReclaim(func(n *robustNode) {
		if armed && !panicked {
			panicked = true
			panic("OnReclaim")
		}
		n.val.Store(robustPoison)
	}))}
	w := c.Register()
	pushPop := func() (rec any) { // one push and pop in a guard of its own
		g := w.Enter()
		defer g.Exit()
		defer func() { rec = recover() }()
		s.push(g, 1)
		s.pop(g)
		return nil
	}
	g := w.Enter()
	s.push(g, 42)
	for i := range 16 {
		s.push(g, int64(100+i))
	}
	g.Exit()
	g = w.Enter()
	for range 16 {
		s.pop(g)
	}
	g.Exit()
	reader := c.Enter()
	b := epoch.Load(reader, &s.head)
	g = w.Enter()
	s.pop(g)
	g.Exit()
	armed = true
	var recs int
	for range 64 - 17 {
		if pushPop() != nil {
			recs++
		}
	}
	require.True(t, panicked)
	require.Equal(t, 1, recs, "the panic reached the Retire that sealed")
	for i := range 20 {
		for range 64 {
			require.Nil(t, pushPop())
		}
		if i%4 == 0 {
			c.Flush()
		}
		require.EqualValues(t, 42, b.val.Load(), "round %d: B was reclaimed while the reader that loaded it is open", i)
	}
	reader.Exit()
	c.Flush()
	require.EqualValues(t, robustPoison, b.val.Load())
	w.Unregister()
	require.NoError(t, c.Close())
}
