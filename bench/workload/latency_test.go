package workload

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestHistogramBuckets(t *testing.T) {
	for v := range uint64(1 << subBits) {
		require.Equal(t, v, bucketMid(bucketOf(v)), "exact below 2^subBits")
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 10000 {
		v := r.Uint64() >> r.IntN(64)
		mid := bucketMid(bucketOf(v))
		require.InEpsilon(t, float64(max(v, 1)), float64(max(mid, 1)), 1.0/(1<<subBits), "value %d", v)
	}
	require.Less(t, bucketOf(^uint64(0)), len(histogram{}.counts))
}

func TestHistogramQuantiles(t *testing.T) {
	var h histogram
	require.Zero(t, h.quantile(0.5))
	for i := 1; i <= 1000; i++ {
		h.record(time.Duration(i) * time.Microsecond)
	}
	var o histogram
	o.record(-time.Second) // clamped to zero
	h.merge(&o)
	l := h.latency()
	require.EqualValues(t, 1001, l.Samples)
	require.InEpsilon(t, 500*time.Microsecond, l.P50, 0.07)
	require.InEpsilon(t, 990*time.Microsecond, l.P99, 0.07)
	require.InEpsilon(t, 999*time.Microsecond, l.P999, 0.07)
}
