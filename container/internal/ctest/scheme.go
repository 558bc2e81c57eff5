package ctest

import (
	"github.com/stretchr/testify/require"

	"github.com/go-reclaim/reclaim/epoch"
	"github.com/go-reclaim/reclaim/hazard"
)

// Scheme is a fresh reclamation scheme for one test: the garbage collector
// (neither field set), an epoch Collector (classic or robust) or a hazard
// Domain. Small batches and thresholds make reclamation, and so node reuse,
// frequent.
type Scheme struct {
	Name string
	C    *epoch.Collector
	D    *hazard.Domain
}

// Names are the schemes' names, in the order of Schemes: EpochRobust is
// an epoch Collector created WithRobust, on which the containers' epoch
// variants must reserve what they dereference.
var Names = [...]string{"GC", "Epoch", "EpochRobust", "Hazard"}

// Schemes returns one constructor per scheme.
func Schemes() []func() Scheme {
	return []func() Scheme{
		func() Scheme { return Scheme{Name: Names[0]} },
		func() Scheme { return Scheme{Name: Names[1], C: epoch.New(epoch.WithBatchSize(4))} },
		func() Scheme {
			return Scheme{Name: Names[2], C: epoch.New(epoch.WithBatchSize(4), epoch.WithRobust())}
		},
		func() Scheme { return Scheme{Name: Names[3], D: hazard.New(hazard.WithThreshold(8))} },
	}
}

// Close closes the collector or domain, reclaiming everything retired.
func (s Scheme) Close() error {
	switch {
	case s.C != nil:
		return s.C.Close()
	case s.D != nil:
		return s.D.Close()
	}
	return nil
}

// Retired is how many objects were retired, exact once Close has returned
// (epoch.Pool nodes count as retired), or -1 under the garbage collector.
func (s Scheme) Retired() int {
	switch {
	case s.C != nil:
		return int(s.C.Stats().Retired)
	case s.D != nil:
		return int(s.D.Stats().Retired)
	}
	return -1
}

// Build makes one structure on s with the constructor for its scheme and
// returns a function that gives each goroutine its view of the structure,
// with what to call when the goroutine is done. gc's view is shared;
// hazard's constructor returns a function that makes a view around a
// goroutine's own hazardPointers hazard pointers.
func Build[V any](s Scheme, hazardPointers int,
	gc func() V, ep func(*epoch.Collector) V, hz func(*hazard.Domain) func(*hazard.Array) V,
) func() (V, func()) {
	nothing := func() {}
	switch {
	case s.C != nil:
		v := ep(s.C)
		return func() (V, func()) { return v, nothing }
	case s.D != nil:
		view := hz(s.D)
		return func() (V, func()) {
			hp := s.D.AcquireArray(hazardPointers)
			return view(hp), hp.Release
		}
	}
	v := gc()
	return func() (V, func()) { return v, nothing }
}

// CloseAndCount closes s and checks that exactly retired objects went
// through it (none under the garbage collector).
func CloseAndCount(t require.TestingT, s Scheme, retired int) {
	require.NoError(t, s.Close())
	if s.C != nil || s.D != nil {
		require.Equal(t, retired, s.Retired(), "every unlinked node retired exactly once")
	}
}
