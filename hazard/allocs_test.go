//go:build !race

// The race detector's sync.Pool drops items at random, so allocation counts
// are only meaningful without it; .ci/run runs these tests separately.

package hazard_test

import (
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/go-reclaim/reclaim/hazard"
)

func TestAllocsSteadyState(t *testing.T) {
	d := hazard.New()
	defer d.Close()
	pool := hazard.NewPool[poolNode](d)
	var src atomic.Pointer[int]
	src.Store(new(int))
	obj := new(int)
	free := func(*int) {}
	warm := func(f func()) float64 {
		for range 10000 {
			f()
		}
		return testing.AllocsPerRun(10000, f)
	}
	require.Zero(t, warm(func() { d.Acquire().Release() }), "Acquire+Release")
	require.Zero(t, warm(func() { d.AcquireArray(3).Release() }), "AcquireArray+Release")
	hp := d.Acquire()
	require.Zero(t, warm(func() { hazard.Protect(hp, &src); hp.Reset() }), "Protect+Reset")
	hp.Release()
	require.Zero(t, warm(func() { hazard.Retire(d, obj, free) }), "Retire")
	require.Zero(t, warm(func() { pool.Retire(pool.Get()) }), "Pool Get+Retire")
	require.Zero(t, warm(d.Flush), "Flush with nothing pending")
	require.Zero(t, warm(func() { hazard.Retire(d, obj, free); d.Flush() }), "Retire+Flush")
	hooked := hazard.NewPool(d, hazard.OnReclaim(func(*poolNode) {}))
	require.Zero(t, warm(func() { hooked.Retire(hooked.Get()); d.Flush() }), "Pool with OnReclaim: Get+Retire+Flush")
}
