package epoch

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// Every batch has room for a full one, those that sifts make included:
// any batch may become a limbo, and an append that grew one in Retire
// allocated, which parked the goroutine inside its guard with the limbo in
// its hands.
func TestSiftedBatchesHaveRoomForAFullBatch(t *testing.T) {
	const batch = 8
	c := New(WithRobust(), WithBatchSize(batch), WithMaxBatchAge(0))
	p := NewPool[stealNode](c)
	h := c.Register()
	g := h.Enter()
	for range 3 {
		p.Retire(g, p.Get(g))
	}
	l := p.cached(g)
	l.lockSealed()
	l.sealLimbo(c)
	b := l.popSealed()
	l.unlockSealed()
	g.Exit()
	r := c.scanner()
	c.scan(r, 0, 0, nil, false) // no guard open: nothing is held
	f := p.sift(b, r, r.reach(b.epoch), nil)
	require.NotNil(t, f)
	require.Len(t, f.nodes, 3)
	require.Equal(t, batch, cap(f.nodes), "a sifted batch has room for %d nodes, not a full batch", cap(f.nodes))
	p.share(p.reclaim(f))
	h.Unregister()
	require.NoError(t, c.Close())
}
