package ctest

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/go-reclaim/reclaim/epoch"
	"github.com/go-reclaim/reclaim/hazard"
)

// Bench runs body as one sub-benchmark per scheme, named scheme=GC,
// scheme=Epoch, scheme=EpochRobust and scheme=Hazard for benchstat, with
// allocations reported.
// The schemes have their default settings, not the small batches of
// Schemes.
func Bench(b *testing.B, body func(b *testing.B, s Scheme)) {
	for i, s := range []func() Scheme{
		func() Scheme { return Scheme{Name: Names[0]} },
		func() Scheme { return Scheme{Name: Names[1], C: epoch.New()} },
		func() Scheme { return Scheme{Name: Names[2], C: epoch.New(epoch.WithRobust())} },
		func() Scheme { return Scheme{Name: Names[3], D: hazard.New()} },
	} {
		b.Run("scheme="+Names[i], func(b *testing.B) {
			b.ReportAllocs()
			s := s()
			body(b, s)
			require.NoError(b, s.Close())
		})
	}
}

// Allocs checks that op, run on a view of a structure that open builds on
// each pooling scheme (epoch, classic and robust, and hazard), allocates
// nothing once nodes circulate. i counts the runs.
func Allocs[V any](t *testing.T, open func(Scheme) func() (V, func()), op func(v V, i int)) {
	for _, mk := range Schemes()[1:] {
		s := mk()
		v, done := open(s)()
		i := 0
		require.Zero(t, testing.AllocsPerRun(10000, func() { op(v, i); i++ }), s.Name)
		done()
		require.NoError(t, s.Close())
	}
}
