package offheapmap_test

import (
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/go-reclaim/reclaim/container/offheapmap"
	"github.com/go-reclaim/reclaim/epoch"
	"github.com/go-reclaim/reclaim/offheap"
)

type value struct {
	A, B uint64
}

func open(t *testing.T, maxEntries int, opts ...offheap.Option) (*offheapmap.Map[uint64, value], *epoch.Collector) {
	t.Helper()
	c := epoch.New(epoch.WithBatchSize(8))
	m, err := offheapmap.New[uint64, value](c, maxEntries, opts...)
	require.NoError(t, err)
	return m, c
}

func closeAll(t *testing.T, m *offheapmap.Map[uint64, value], c *epoch.Collector) {
	t.Helper()
	require.NoError(t, m.Close())
	require.NoError(t, c.Close())
	st := c.Stats()
	require.Equal(t, st.Retired, st.Reclaimed)
}

func TestStoreLoadDelete(t *testing.T) {
	m, c := open(t, 1<<16, offheap.WithChecks())
	g := c.Enter()
	_, ok := m.Load(g, 1)
	require.False(t, ok)
	replaced, err := m.Store(g, 1, value{1, 10})
	require.NoError(t, err)
	require.False(t, replaced)
	v, ok := m.Load(g, 1)
	require.True(t, ok)
	require.Equal(t, value{1, 10}, *v)

	replaced, err = m.Store(g, 1, value{1, 11})
	require.NoError(t, err)
	require.True(t, replaced)
	require.Equal(t, value{1, 10}, *v, "the value loaded before the replacement stays readable under the guard")
	v2, _ := m.Load(g, 1)
	require.Equal(t, value{1, 11}, *v2)

	require.True(t, m.Delete(g, 1))
	require.False(t, m.Delete(g, 1))
	_, ok = m.Load(g, 1)
	require.False(t, ok)
	require.Equal(t, value{1, 11}, *v2, "a deleted value stays readable under the guard")
	require.Zero(t, m.Len())
	g.Exit()
	closeAll(t, m, c)
}

// The table starts at 8 buckets and grows as keys are added; every key
// stays reachable across the grows, and deleting and re-adding keys
// (tombstones) does not grow the table without bound.
func TestGrowth(t *testing.T) {
	m, c := open(t, 1<<20)
	const n = 100_000
	g := c.Enter()
	for k := range uint64(n) {
		_, err := m.Store(g, k, value{k, ^k})
		require.NoError(t, err)
		if k%1024 == 0 {
			g.Refresh() // let the retired tables and entries go
		}
	}
	require.Equal(t, n, m.Len())
	st := m.Stats()
	require.Greater(t, st.Grows, uint64(10))
	require.LessOrEqual(t, n, st.Buckets*7*3/4, "at most three quarters of the slots used")
	for k := range uint64(n) {
		v, ok := m.Load(g, k)
		require.True(t, ok, "key %d", k)
		require.Equal(t, value{k, ^k}, *v)
	}
	buckets := st.Buckets
	for round := range uint64(20) {
		for k := range uint64(n / 10) {
			require.True(t, m.Delete(g, k))
			_, err := m.Store(g, k, value{k, round})
			require.NoError(t, err)
		}
		g.Refresh()
	}
	require.Equal(t, n, m.Len())
	require.Equal(t, buckets, m.Stats().Buckets, "churn at a steady size rehashes in place")
	seen := 0
	m.Range(g, func(k uint64, v *value) bool { seen++; require.Equal(t, k, v.A); return true })
	require.Equal(t, n, seen)
	g.Exit()
	closeAll(t, m, c)
}

func TestRejectsPointers(t *testing.T) {
	c := epoch.New()
	defer c.Close()
	_, err := offheapmap.New[string, int](c, 10)
	require.ErrorIs(t, err, offheap.ErrPointers)
	_, err = offheapmap.New[int, *int](c, 10)
	require.ErrorIs(t, err, offheap.ErrPointers)
	_, err = offheapmap.New[int, int](c, 0)
	require.ErrorIs(t, err, offheap.ErrSize)
}

// maxEntries bounds the entries, live or in their grace period: a Store
// past it fails with ErrFull and leaves the map as it was.
func TestFull(t *testing.T) {
	m, c := open(t, 4)
	g := c.Enter()
	for k := range uint64(4) {
		_, err := m.Store(g, k, value{A: k})
		require.NoError(t, err)
	}
	_, err := m.Store(g, 9, value{})
	require.ErrorIs(t, err, offheap.ErrFull)
	_, err = m.Store(g, 0, value{A: 100}) // a replacement needs a new entry too
	require.ErrorIs(t, err, offheap.ErrFull)
	v, ok := m.Load(g, 0)
	require.True(t, ok)
	require.Equal(t, uint64(0), v.A)
	require.Equal(t, 4, m.Len())
	g.Exit()
	closeAll(t, m, c)
}

func TestClose(t *testing.T) {
	m, c := open(t, 64, offheap.WithChecks())
	g := c.Enter()
	_, err := m.Store(g, 1, value{})
	require.NoError(t, err)
	g.Exit()
	require.NoError(t, m.Close(), "Close frees every entry: the checked slab reports no leak")
	require.ErrorIs(t, m.Close(), offheap.ErrClosed)
	g = c.Enter()
	_, err = m.Store(g, 2, value{})
	require.ErrorIs(t, err, offheap.ErrClosed)
	require.False(t, m.Delete(g, 1))
	require.PanicsWithValue(t, "offheapmap: Load after Close", func() { m.Load(g, 1) })
	g.Exit()
	require.NoError(t, c.Close())
	st := c.Stats()
	require.Equal(t, st.Retired, st.Reclaimed)
}

// The map against a Go map, on random sequences of operations.
func TestAgainstGoMap(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		c := epoch.New(epoch.WithBatchSize(2))
		m, err := offheapmap.New[uint64, value](c, 1024, offheap.WithChecks())
		require.NoError(rt, err)
		model := map[uint64]value{}
		g := c.Enter()
		for range rapid.IntRange(1, 400).Draw(rt, "ops") {
			k := rapid.Uint64Range(0, 63).Draw(rt, "key")
			switch rapid.IntRange(0, 2).Draw(rt, "op") {
			case 0:
				v, ok := m.Load(g, k)
				want, wantOK := model[k]
				require.Equal(rt, wantOK, ok, "Load(%d)", k)
				if ok {
					require.Equal(rt, want, *v)
				}
			case 1:
				val := value{k, rapid.Uint64().Draw(rt, "val")}
				replaced, err := m.Store(g, k, val)
				require.NoError(rt, err)
				_, had := model[k]
				require.Equal(rt, had, replaced)
				model[k] = val
			case 2:
				_, had := model[k]
				require.Equal(rt, had, m.Delete(g, k))
				delete(model, k)
			}
			if rapid.IntRange(0, 7).Draw(rt, "refresh") == 0 {
				g.Refresh()
			}
			require.Equal(rt, len(model), m.Len())
		}
		g.Exit()
		require.NoError(rt, m.Close())
		require.NoError(rt, c.Close())
	})
}

// Range sees every key that is present throughout, while other goroutines
// replace those keys' values and churn other keys enough to grow the
// table.
func TestRangeDuringReplaceAndGrowth(t *testing.T) {
	c := epoch.New(epoch.WithBatchSize(8))
	m, err := offheapmap.New[uint64, value](c, 1<<18)
	require.NoError(t, err)
	const stable = 8
	g := c.Enter()
	for k := range uint64(stable) {
		_, err := m.Store(g, k, value{A: k})
		require.NoError(t, err)
	}
	g.Exit()
	var stop atomic.Bool
	var wg sync.WaitGroup
	wg.Go(func() { // replaces the stable keys' values
		for i := uint64(0); !stop.Load(); i++ {
			g := c.Enter()
			_, err := m.Store(g, i%stable, value{A: i % stable, B: i})
			g.Exit()
			if err != nil {
				panic(err)
			}
		}
	})
	grown := make(chan struct{})
	go func() { // grows the table with other keys
		defer close(grown)
		for i := uint64(stable); i < 20_000; i++ {
			g := c.Enter()
			_, err := m.Store(g, i, value{A: i})
			g.Exit()
			if err != nil {
				panic(err)
			}
		}
	}()
	for ranges := 0; ; ranges++ {
		select {
		case <-grown:
			if ranges >= 100 {
				goto done
			}
		default:
		}
		g := c.Enter()
		seen := map[uint64]bool{}
		m.Range(g, func(k uint64, v *value) bool {
			require.Equal(t, k, v.A, "a value of another key")
			seen[k] = true
			return true
		})
		g.Exit()
		for k := range uint64(stable) {
			require.True(t, seen[k], "Range missed key %d, present throughout", k)
		}
	}
done:
	stop.Store(true)
	wg.Wait()
	require.Positive(t, m.Stats().Grows)
	closeAll(t, m, c)
}

func TestMisuse(t *testing.T) {
	m, c := open(t, 16)
	var other = epoch.New()
	defer other.Close()
	og := other.Enter()
	for name, f := range map[string]func(g *epoch.Guard){
		"Load":   func(g *epoch.Guard) { m.Load(g, 1) },
		"Store":  func(g *epoch.Guard) { _, _ = m.Store(g, 1, value{}) },
		"Delete": func(g *epoch.Guard) { m.Delete(g, 1) },
		"Range":  func(g *epoch.Guard) { m.Range(g, func(uint64, *value) bool { return true }) },
	} {
		msg := "offheapmap: " + name + " with a nil guard or a guard of another collector than the map's"
		require.PanicsWithValue(t, msg, func() { f(nil) }, name)
		require.PanicsWithValue(t, msg, func() { f(og) }, name)
	}
	var zero offheapmap.Map[uint64, value]
	require.PanicsWithValue(t, "offheapmap: Load on a zero Map: make it with New", func() { zero.Load(og, 1) })
	og.Exit()
	require.Zero(t, m.Len(), "a refused Store leaves the map unchanged")
	g := c.Enter()
	_, err := m.Store(g, 1, value{})
	require.NoError(t, err)
	g.Exit()
	for name, f := range map[string]func(g *epoch.Guard){
		"Load":   func(g *epoch.Guard) { m.Load(g, 1) },
		"Store":  func(g *epoch.Guard) { _, _ = m.Store(g, 2, value{}) },
		"Delete": func(g *epoch.Guard) { m.Delete(g, 1) },
		"Range":  func(g *epoch.Guard) { m.Range(g, func(uint64, *value) bool { return true }) },
	} {
		require.PanicsWithValue(t, "offheapmap: "+name+" with a guard that has exited", func() { f(g) }, name)
	}
	require.Equal(t, 1, m.Len(), "refused Store and Delete leave the map unchanged")
	require.NoError(t, m.Close())
	g = c.Enter()
	require.PanicsWithValue(t, "offheapmap: Range after Close", func() { m.Range(g, func(uint64, *value) bool { return true }) })
	g.Exit()
	require.NoError(t, c.Close())
}
