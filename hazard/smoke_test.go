package hazard_test

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/go-reclaim/reclaim/hazard"
)

func TestProtectedObjectSurvivesBarrier(t *testing.T) {
	d := hazard.New(hazard.WithMaxBatchAge(0)) // no aging: free functions run on this goroutine
	var src atomic.Pointer[int]
	x := new(int)
	src.Store(x)
	hp := d.Acquire()
	require.Same(t, x, hazard.Protect(hp, &src))

	freed := map[*int]int{}
	free := func(p *int) { freed[p]++ }
	src.Store(nil)
	hazard.Retire(d, x, free)
	others := make([]*int, 100)
	for i := range others {
		others[i] = new(int)
		hazard.Retire(d, others[i], free)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10e6)
	defer cancel()
	require.ErrorIs(t, d.Barrier(ctx), context.DeadlineExceeded)
	require.Zero(t, freed[x])
	for _, p := range others {
		require.Equal(t, 1, freed[p])
	}
	require.ErrorIs(t, d.Close(), hazard.ErrProtected)
	hp.Release()
	require.NoError(t, d.Close())
	require.Equal(t, 1, freed[x])
}
