package epoch_test

import (
	"sync/atomic"
	"testing"

	"github.com/go-reclaim/reclaim/epoch"
)

type swapNode struct{ v atomic.Int64 }

// A guard that unlinks a node by Swap, without loading it, retires it and
// calls Guard.Flush, which hands the node to a sweep that judges by
// reservations alone: the node must survive until the guard exits, as
// Guard.Flush promises (found by review).
func TestRobustOwnRetireSurvivesGuardFlush(t *testing.T) {
	c := epoch.New(epoch.WithRobust())
	p := epoch.NewPool[swapNode](c, epoch.OnReclaim(func(n *swapNode) { n.v.Store(-1) }))
	var head atomic.Pointer[swapNode]
	hg := c.Register()
	ho := c.Register()
	g := hg.Enter() // entered at era e0, loads nothing
	// another goroutine's guard moves the era, then publishes x
	for range 40 {
		o := ho.Enter()
		n := p.Get(o)
		p.Retire(o, n)
		o.Exit()
	}
	o := ho.Enter()
	x := p.Get(o)
	x.v.Store(42)
	head.Store(x)
	o.Exit()
	for range 40 { // more era
		o := ho.Enter()
		n := p.Get(o)
		p.Retire(o, n)
		o.Exit()
	}
	y := head.Swap(nil) // g unlinks x itself
	p.Retire(g, y)
	g.Flush()
	c.Flush()
	if y.v.Load() != 42 {
		t.Fatalf("node retired by the open guard g was reclaimed before g exited (v=%d)", y.v.Load())
	}
	g.Exit()
	hg.Unregister()
	ho.Unregister()
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
}
