package epoch

import (
	"math"
	"testing"

	"pgregory.net/rapid"
)

// reachOf is reach's definition, by brute force over the spans.
func reachOf(spans []span, tag uint64) uint64 {
	var reach uint64
	for _, s := range spans {
		if s.lo <= tag {
			reach = max(reach, s.hi)
		}
	}
	return reach
}

// A span added to a snapshot, sorted or not, answers reach as if the scan
// had seen it: reach at every tag is the largest hi of the spans that
// start at or before it.
func TestReservationsAdd(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		genSpan := rapid.Custom(func(t *rapid.T) span {
			lo := rapid.Uint64Range(1, 20).Draw(t, "lo")
			return span{lo, lo + rapid.Uint64Range(0, 30).Draw(t, "d")}
		})
		spans := rapid.SliceOf(genSpan).Draw(t, "spans")
		added := genSpan.Draw(t, "added")
		r := &reservations{era: 60, minLo: math.MaxUint64, minEntry: math.MaxUint64}
		for _, s := range spans {
			r.spans = append(r.spans, s)
			r.minLo, r.maxLo, r.maxHi = min(r.minLo, s.lo), max(r.maxLo, s.lo), max(r.maxHi, s.hi)
		}
		if rapid.Bool().Draw(t, "sorted") {
			r.sort()
		}
		var p participant
		p.word.Store(added.lo)
		p.hi.Store(added.hi)
		r.add(&p)
		want := append(append([]span{}, spans...), added)
		for tag := uint64(0); tag <= 60; tag++ {
			if got, exp := r.reach(tag), reachOf(want, tag); got != exp {
				t.Fatalf("reach(%d) = %d after add, want %d", tag, got, exp)
			}
		}
	})
}
