package workload

import (
	"math/bits"
	"time"
)

// subBits sets the histogram's precision: 2^subBits buckets per power of
// two, so a quantile is off by at most 1/16 of its value.
const subBits = 4

// histogram counts durations in log-linear buckets (HDR style): exact
// below 2^subBits ns, then 2^subBits buckets per power of two. It never
// allocates, so recording costs a few instructions.
type histogram struct {
	counts [(64 - subBits + 1) << subBits]uint64
	total  uint64
}

func bucketOf(ns uint64) int {
	if ns < 1<<subBits {
		return int(ns)
	}
	shift := bits.Len64(ns) - subBits - 1
	return (shift+1)<<subBits + int(ns>>shift) - 1<<subBits
}

// bucketMid is the middle of bucket i's range.
func bucketMid(i int) uint64 {
	if i < 1<<subBits {
		return uint64(i)
	}
	shift := i>>subBits - 1
	lo := uint64(i&(1<<subBits-1)+1<<subBits) << shift
	return lo + (uint64(1)<<shift)/2
}

func (h *histogram) record(d time.Duration) {
	if d < 0 {
		d = 0
	}
	h.counts[bucketOf(uint64(d))]++
	h.total++
}

func (h *histogram) merge(o *histogram) {
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.total += o.total
}

// quantile returns the q-quantile (0 < q <= 1) of the recorded durations,
// or 0 if none were recorded.
func (h *histogram) quantile(q float64) time.Duration {
	if h.total == 0 {
		return 0
	}
	rank := uint64(q*float64(h.total) + 0.5)
	rank = max(rank, 1)
	var seen uint64
	for i, c := range h.counts {
		if seen += c; seen >= rank {
			return time.Duration(bucketMid(i))
		}
	}
	return time.Duration(bucketMid(len(h.counts) - 1))
}

// Latency holds operation latency quantiles. Operations are sampled (one
// in 63) and timed with the monotonic clock; the cost of reading the clock,
// measured at start-up, is subtracted.
type Latency struct {
	P50, P99, P999 time.Duration
	Samples        uint64
}

func (h *histogram) latency() Latency {
	return Latency{P50: h.quantile(0.5), P99: h.quantile(0.99), P999: h.quantile(0.999), Samples: h.total}
}

// clockCost is the least time between two clock readings, subtracted from
// each sampled operation's latency.
var clockCost = func() time.Duration {
	best := time.Hour
	for range 1000 {
		t := time.Now()
		best = min(best, time.Since(t))
	}
	return best
}()
