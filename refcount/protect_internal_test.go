package refcount

import (
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"
)

// Load's increment is safe only if it runs under the hazard pointer it is
// given: a reader that bypasses it races with the release of the slot's
// reference in a window of a few instructions that no black-box test can
// hit reliably. So this checks the wiring: acquire must protect through
// hp, which panics when hp has been released.
func TestAcquireProtectsThroughItsHazardPointer(t *testing.T) {
	var src atomic.Pointer[arcInner[int]]
	a := NewArc(1, nil)
	defer a.Release()
	src.Store(a.in)
	hp := domain.Acquire()
	in, alive := acquire(hp, &src)
	require.Same(t, a.in, in)
	require.True(t, alive)
	a.in.releaseStrong()
	hp.Release()
	require.PanicsWithValue(t, "hazard: Protect through a Pointer that was already released", func() { acquire(hp, &src) })
}
