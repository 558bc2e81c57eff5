package epoch_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/go-reclaim/reclaim/epoch"
)

func noop(*int) {}

func TestMisusePanicsNameTheMistake(t *testing.T) {
	tests := []struct {
		name string
		msg  string
		fn   func(c *epoch.Collector)
	}{
		{"retire nil pointer", "epoch: Retire of a nil pointer", func(c *epoch.Collector) {
			g := c.Enter()
			defer g.Exit()
			epoch.Retire[int](g, nil, noop)
		}},
		{"retire nil free", "epoch: Retire with a nil free function", func(c *epoch.Collector) {
			g := c.Enter()
			defer g.Exit()
			epoch.Retire(g, new(int), nil)
		}},
		{"defer nil", "epoch: Defer with a nil function", func(c *epoch.Collector) {
			g := c.Enter()
			defer g.Exit()
			g.Defer(nil)
		}},
		{"barrier nil context", "epoch: Barrier with a nil context", func(c *epoch.Collector) {
			var none context.Context // nil
			_ = c.Barrier(none)
		}},
		{"new pool nil collector", "epoch: NewPool with a nil Collector (use epoch.Default() for the shared one)", func(*epoch.Collector) {
			epoch.NewPool[int](nil)
		}},
		{"zero pool get", "epoch: Pool.Get on a zero Pool: make Pools with NewPool", func(c *epoch.Collector) {
			g := c.Enter()
			defer g.Exit()
			var p epoch.Pool[int]
			p.Get(g)
		}},
		{"zero pool retire", "epoch: Pool.Retire on a zero Pool: make Pools with NewPool", func(c *epoch.Collector) {
			g := c.Enter()
			defer g.Exit()
			var p epoch.Pool[int]
			p.Retire(g, new(int))
		}},
		{"exit twice", "epoch: Exit through a guard that has already exited", func(c *epoch.Collector) {
			g := c.Enter()
			g.Exit()
			g.Exit()
		}},
		{"retire through exited guard", "epoch: Retire through a guard that has already exited", func(c *epoch.Collector) {
			g := c.Enter()
			g.Exit()
			epoch.Retire(g, new(int), noop)
		}},
		{"defer through exited guard", "epoch: Defer through a guard that has already exited", func(c *epoch.Collector) {
			g := c.Enter()
			g.Exit()
			g.Defer(func() {})
		}},
		{"refresh through exited guard", "epoch: Refresh through a guard that has already exited", func(c *epoch.Collector) {
			g := c.Enter()
			g.Exit()
			g.Refresh()
		}},
		{"load through exited guard", "epoch: Load through a guard that has already exited", func(c *epoch.Collector) {
			g := c.Enter()
			g.Exit()
			var src atomicIntPtr
			epoch.Load(g, &src)
		}},
		{"enter after close", "epoch: Enter on a closed Collector", func(c *epoch.Collector) {
			require.NoError(t, c.Close())
			c.Enter()
		}},
		{"register after close", "epoch: Register on a closed Collector", func(c *epoch.Collector) {
			require.NoError(t, c.Close())
			c.Register()
		}},
		{"handle enter after close", "epoch: Enter on a closed Collector", func(c *epoch.Collector) {
			h := c.Register()
			require.NoError(t, c.Close())
			h.Enter()
		}},
		{"handle enter after unregister", "epoch: Enter on an unregistered Handle", func(c *epoch.Collector) {
			h := c.Register()
			h.Unregister()
			h.Enter()
		}},
		{"unregister twice", "epoch: Unregister on a Handle that was already unregistered", func(c *epoch.Collector) {
			h := c.Register()
			h.Unregister()
			h.Unregister()
		}},
		{"unregister with open guard", "epoch: Unregister while a guard entered through the Handle is still open", func(c *epoch.Collector) {
			h := c.Register()
			g := h.Enter()
			defer func() { g.Exit(); h.Unregister() }()
			h.Unregister()
		}},
		{"refresh nested guard", "epoch: Refresh while guards of the same Handle are nested: the other guard, outer or nested, may still hold pointers", func(c *epoch.Collector) {
			h := c.Register()
			outer := h.Enter()
			inner := h.Enter()
			defer func() { inner.Exit(); outer.Exit(); h.Unregister() }()
			inner.Refresh()
		}},
		{"pool get through exited guard", "epoch: Pool.Get through a guard that has already exited", func(c *epoch.Collector) {
			p := epoch.NewPool[int](c)
			g := c.Enter()
			g.Exit()
			p.Get(g)
		}},
		{"pool retire nil", "epoch: Pool.Retire of a nil pointer", func(c *epoch.Collector) {
			p := epoch.NewPool[int](c)
			g := c.Enter()
			defer g.Exit()
			p.Retire(g, nil)
		}},
		{"pool with another collector's guard", "epoch: Pool.Retire with a guard of another Collector", func(c *epoch.Collector) {
			other := newCollector()
			p := epoch.NewPool[int](other)
			g := c.Enter()
			defer g.Exit()
			p.Retire(g, new(int))
		}},
		{"batch size zero", "epoch: WithBatchSize(0): the batch size must be at least 1", func(*epoch.Collector) {
			epoch.WithBatchSize(0)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newCollector()
			require.PanicsWithValue(t, tt.msg, func() { tt.fn(c) })
		})
	}
}

// A misused guard must not corrupt the collector: after each panic above,
// the slot that the guard held is not pinned and reclamation goes on.
func TestMisuseLeavesCollectorUsable(t *testing.T) {
	c := newCollector(epoch.WithBatchSize(1))
	g := c.Enter()
	g.Exit()
	require.Panics(t, func() { g.Exit() })
	require.Panics(t, func() { epoch.Retire(g, new(int), noop) })
	require.Zero(t, c.Stats().Guards, "a second Exit must not unpin another guard's slot")

	freed := 0
	g2 := c.Enter()
	epoch.Retire(g2, new(int), func(*int) { freed++ })
	g2.Exit()
	require.NoError(t, c.Barrier(t.Context()))
	require.Equal(t, 1, freed)
	require.NoError(t, c.Close())
}

// Open lets a library that takes a guard from its caller refuse an exited
// one before it changes anything: pooled guards, a Handle's outer and
// nested guards.
func TestGuardOpen(t *testing.T) {
	c := epoch.New()
	defer c.Close()
	g := c.Enter()
	require.True(t, g.Open(), "an entered guard")
	g.Exit()
	require.False(t, g.Open(), "after Exit")

	h := c.Register()
	defer h.Unregister()
	outer := h.Enter()
	inner := h.Enter()
	require.True(t, outer.Open())
	require.True(t, inner.Open())
	inner.Exit()
	require.False(t, inner.Open(), "a nested guard after its Exit")
	require.True(t, outer.Open(), "the outer guard stays open")
	outer.Exit()
	require.False(t, outer.Open())
}

// A zero Collector is not usable (New makes one): every method that takes
// it panics with a message naming the operation and the mistake, not with
// a nil dereference.
func TestMisuseZeroCollector(t *testing.T) {
	const suffix = " on a zero Collector: make Collectors with New (or use Default())"
	for op, fn := range map[string]func(c *epoch.Collector){
		"Enter":    func(c *epoch.Collector) { c.Enter() },
		"Register": func(c *epoch.Collector) { c.Register() },
		"Close":    func(c *epoch.Collector) { _ = c.Close() },
		"Stats":    func(c *epoch.Collector) { c.Stats() },
		"Flush":    func(c *epoch.Collector) { c.Flush() },
		"Barrier":  func(c *epoch.Collector) { _ = c.Barrier(context.Background()) },
		"NewPool":  func(c *epoch.Collector) { epoch.NewPool[int](c) },
	} {
		t.Run(op, func(t *testing.T) {
			var c epoch.Collector
			require.PanicsWithValue(t, "epoch: "+op+suffix, func() { fn(&c) })
		})
	}
}
