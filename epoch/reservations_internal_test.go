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
			return span{lo: lo, hi: lo + rapid.Uint64Range(0, 30).Draw(t, "d")}
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
		r.add(&p, len(spans))
		want := append(append([]span{}, spans...), added)
		for tag := uint64(0); tag <= 60; tag++ {
			if got, exp := r.reach(tag), reachOf(want, tag); got != exp {
				t.Fatalf("reach(%d) = %d after add, want %d", tag, got, exp)
			}
		}
	})
}

// A snapshot kept across scans (many slots) answers reach as one taken
// anew would, whatever changed between the scans: a few slots (merged in)
// or many (re-sorted), a slot left out as the caller's own and then added,
// and scans of fewer slots in between (not kept).
func TestReservationsKept(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		n := rapid.IntRange(keepFrom, 2*keepFrom).Draw(t, "slots")
		slots := make([]span, n) // the slots' current intervals; lo 0: no guard
		genSpan := rapid.Custom(func(t *rapid.T) span {
			if rapid.IntRange(0, 3).Draw(t, "none") == 0 {
				return span{}
			}
			lo := rapid.Uint64Range(1, 1000).Draw(t, "lo")
			return span{lo: lo, hi: lo + rapid.Uint64Range(0, 50).Draw(t, "d")}
		})
		var r reservations
		for scan := range rapid.IntRange(1, 12).Draw(t, "scans") {
			changes := rapid.SampledFrom([]int{0, 1, 3, n / 2, n}).Draw(t, "changes")
			for range changes {
				slots[rapid.IntRange(0, n-1).Draw(t, "slot")] = genSpan.Draw(t, "span")
			}
			seen := n
			if rapid.IntRange(0, 4).Draw(t, "few") == 0 {
				seen = rapid.IntRange(1, keepFrom-1).Draw(t, "seen") // a smaller collector's scan
			}
			self := rapid.IntRange(-1, seen-1).Draw(t, "self") // -1: none
			r.begin(10000, uint64(scan+1), seen)
			want := []span{}
			for i, s := range slots[:seen] {
				if i == self || s.lo == 0 {
					r.see(i, 0, 0)
					continue
				}
				r.see(i, s.lo, s.hi)
				want = append(want, s)
			}
			r.end()
			if self >= 0 && slots[self].lo != 0 && rapid.Bool().Draw(t, "add") {
				var p participant
				p.word.Store(slots[self].lo)
				p.hi.Store(slots[self].hi)
				r.add(&p, self)
				want = append(want, slots[self])
			}
			if seen >= keepFrom && !r.sorted {
				t.Fatalf("scan %d: a snapshot of %d slots is not sorted", scan, seen)
			}
			if len(r.spans) != len(want) {
				t.Fatalf("scan %d: %d spans, want %d", scan, len(r.spans), len(want))
			}
			if r.sorted {
				for i := 1; i < len(r.spans); i++ {
					if r.spans[i-1].lo > r.spans[i].lo {
						t.Fatalf("scan %d: spans %d and %d out of order: %v", scan, i-1, i, r.spans[i-1:i+1])
					}
				}
			}
			for tag := uint64(0); tag <= 1100; tag++ {
				if got, exp := r.reach(tag), reachOf(want, tag); got != exp {
					t.Fatalf("scan %d: reach(%d) = %d, want %d", scan, tag, got, exp)
				}
			}
		}
	})
}
