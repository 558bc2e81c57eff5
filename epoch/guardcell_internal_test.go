package epoch

import (
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"
)

// The cells' hand-offs between goroutines, checked by the race detector
// (which otherwise never sees the cells: race builds allocate fresh
// Guards): pooled guards whose slots pass between goroutines, and nested
// Handle guards, retiring what they replace.
func TestGuardCellsHandOff(t *testing.T) {
	testCellsUnderRace = true
	defer func() { testCellsUnderRace = false }()
	c := New(WithBatchSize(4))
	var shared atomic.Pointer[int]
	shared.Store(new(int))
	var freed atomic.Int64
	free := func(*int) { freed.Add(1) }
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			h := c.Register()
			defer h.Unregister()
			for i := range 2000 {
				g := c.Enter()
				if w%2 == 0 {
					g.Exit()
					g = h.Enter()
				}
				inner := h.Enter()
				_ = *Load(inner, &shared)
				Retire(g, shared.Swap(new(int)), free)
				inner.Exit()
				if i%64 == 0 {
					g.Refresh()
				}
				g.Exit()
			}
		})
	}
	wg.Wait()
	require.NoError(t, c.Close())
	require.Equal(t, int64(8*2000), freed.Load())
}
