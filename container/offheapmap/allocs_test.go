//go:build !race

package offheapmap_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/go-reclaim/reclaim/container/offheapmap"
	"github.com/go-reclaim/reclaim/epoch"
)

// No per-entry Go allocation: once the table has grown to its size, Load,
// Store (insert or replace) and Delete allocate nothing on the Go heap.
func TestAllocs(t *testing.T) {
	c := epoch.New()
	m, err := offheapmap.New[uint64, value](c, 1<<16)
	require.NoError(t, err)
	h := c.Register()
	const keys = 1024
	g := h.Enter()
	for k := range uint64(keys) {
		_, err := m.Store(g, k, value{A: k})
		require.NoError(t, err)
	}
	g.Exit()
	k := uint64(0)
	allocs := testing.AllocsPerRun(10000, func() {
		g := h.Enter()
		m.Load(g, k%keys)
		if _, err := m.Store(g, k%keys, value{A: k}); err != nil {
			panic(err)
		}
		m.Delete(g, (k+keys/2)%keys)
		if _, err := m.Store(g, (k+keys/2)%keys, value{}); err != nil {
			panic(err)
		}
		g.Exit()
		k++
	})
	require.Zero(t, allocs)
	h.Unregister()
	require.NoError(t, m.Close())
	require.NoError(t, c.Close())
}
