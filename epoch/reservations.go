package epoch

import (
	"cmp"
	"math"
	"slices"
)

// reservations is a snapshot of the open guards' intervals, taken by scan.
// It judges the batches sealed at era at most era; the snapshot stays valid
// for them however old it grows, because a guard that the scan missed, or
// that raised hi after it, sees every unlink made before the scan (see
// scan). Its owner is the goroutine that holds c.reclaiming (c.res) or
// that took it from c.spans for one seal.
//
// With many slots a snapshot is kept up to date rather than taken anew
// (see keepFrom): between two scans only the guards that ran in between
// change their span, so a scan re-sorts those alone and merges them in.
// With 1,024 goroutines on 2 Ps, a sort of every span at each seal took a
// third of the robust Pool stack's time (by comparison, and by radix too).
type reservations struct {
	era   uint64 // judges batches sealed at eras up to this; 0: none yet
	spans []span // one per open guard seen; by lo while sorted
	tmp   []span // merge's second buffer
	// minLo and maxLo bound the spans' lo, and maxHi is the largest hi, so
	// that most questions are answered without going through the spans.
	// minEntry is the oldest entry era (word): objects without a birth era
	// are held back by every guard that entered at or before their tag.
	minLo, maxLo, maxHi, minEntry uint64
	sorted                        bool   // spans are sorted, reach set (see sort)
	scans                         uint64 // c.scanSeq when r was taken

	// A kept snapshot (see keepFrom): bySlot is the interval of each
	// slot, by index, as spans has it ({0, 0}: none), and spans is sorted.
	// A scan that keeps it (keep) collects in moved the new spans of the
	// slots whose interval changed, and counts those in nMoved.
	kept, keep bool
	bySlot     []interval
	moved      []span
	nMoved     int
}

// span is one open guard's interval of eras.
type span struct {
	lo, hi uint64
	reach  uint64 // while sorted: the largest hi of this span and those before it
	slot   int    // the slot's index (kept snapshots)
}

type interval struct{ lo, hi uint64 }

// keepFrom is the number of slots from which a scan keeps its snapshot up
// to date instead of taking it anew.
const keepFrom = 64

// holds reports whether some open guard may still reach an object of the
// batch sealed at era tag whose objects were born at era birth or later:
// whether a guard that entered at or before tag reserved birth or later.
func (r *reservations) holds(tag, birth uint64) bool {
	if birth == 0 { // unknown: as in the classic mode
		return tag > r.era || tag >= r.minEntry
	}
	return r.reach(tag) >= birth
}

// reach returns the newest era reserved by a guard that entered at or
// before tag (0 if none): the objects of a batch sealed at tag that were
// born later are out of every guard's reach. For a batch sealed after the
// scan it returns MaxUint64: the scan knows nothing of it.
func (r *reservations) reach(tag uint64) uint64 {
	switch {
	case tag > r.era:
		return math.MaxUint64
	case tag < r.minLo:
		return 0
	case tag >= r.maxLo:
		return r.maxHi
	case r.sorted:
		i, _ := slices.BinarySearchFunc(r.spans, tag+1, func(s span, t uint64) int { return cmp.Compare(s.lo, t) })
		return r.spans[i-1].reach // i > 0: tag >= minLo
	}
	var reach uint64
	for _, s := range r.spans {
		if s.lo <= tag {
			reach = max(reach, s.hi)
		}
	}
	return reach
}

// begin starts a scan of n slots (for its era, see scan), see records
// each slot's interval ({0, 0}: no guard, or the caller's own) in any
// order, and end completes the snapshot.
func (r *reservations) begin(era, scans uint64, n int) {
	r.era, r.scans = era, scans
	r.minLo, r.maxLo, r.maxHi, r.minEntry = math.MaxUint64, 0, 0, math.MaxUint64
	r.keep = n >= keepFrom
	r.moved, r.nMoved = r.moved[:0], 0
	if !r.keep || !r.kept {
		r.kept, r.spans, r.sorted = false, r.spans[:0], false
		clear(r.bySlot)
	}
}

func (r *reservations) see(slot int, lo, hi uint64) {
	if lo != 0 {
		r.minLo, r.maxLo, r.maxHi = min(r.minLo, lo), max(r.maxLo, lo), max(r.maxHi, hi)
	}
	if !r.keep {
		if lo != 0 {
			r.spans = append(r.spans, span{lo: lo, hi: hi, slot: slot})
		}
		return
	}
	if slot >= len(r.bySlot) {
		r.bySlot = append(r.bySlot, make([]interval, slot+1-len(r.bySlot))...)
	}
	if r.bySlot[slot] == (interval{lo, hi}) {
		return
	}
	r.bySlot[slot] = interval{lo, hi}
	r.nMoved++
	if lo != 0 {
		r.moved = append(r.moved, span{lo: lo, hi: hi, slot: slot})
	}
}

func (r *reservations) end() {
	switch {
	case !r.keep || r.kept && r.nMoved == 0:
	case !r.kept || r.nMoved > len(r.spans)/4:
		r.spans, r.sorted = r.spans[:0], false
		for slot, in := range r.bySlot {
			if in.lo != 0 {
				r.spans = append(r.spans, span{lo: in.lo, hi: in.hi, slot: slot})
			}
		}
		r.sort()
		r.kept = true
	default:
		r.merge()
	}
}

// merge replaces, in the kept snapshot, the spans of the slots whose
// interval changed by the new ones in moved.
func (r *reservations) merge() {
	slices.SortFunc(r.moved, func(a, b span) int { return cmp.Compare(a.lo, b.lo) })
	merged, next := r.tmp[:0], 0
	for _, s := range r.spans {
		if r.bySlot[s.slot] != (interval{s.lo, s.hi}) {
			continue // the slot's interval changed
		}
		for ; next < len(r.moved) && r.moved[next].lo < s.lo; next++ {
			merged = append(merged, r.moved[next])
		}
		merged = append(merged, s)
	}
	merged = append(merged, r.moved[next:]...)
	r.spans, r.tmp = merged, r.spans[:0]
	r.setReach()
}

// sort prepares r for many questions at once: the spans sorted by lo, each
// with the largest hi up to it, so that reach is a binary search.
func (r *reservations) sort() {
	if r.sorted {
		return
	}
	slices.SortFunc(r.spans, func(a, b span) int { return cmp.Compare(a.lo, b.lo) })
	r.setReach()
}

func (r *reservations) setReach() {
	var reach uint64
	for i := range r.spans {
		reach = max(reach, r.spans[i].hi)
		r.spans[i].reach = reach
	}
	r.sorted = true
}

// add puts the reservation of p, the caller's own slot (its index slot),
// into r, which left it out, keeping r sorted if it was: r then judges
// batches that the caller's open guard may reach (see judgeStranded).
func (r *reservations) add(p *participant, slot int) {
	entry := p.word.Load()
	if entry == 0 {
		return
	}
	s := span{lo: max(entry, p.from.Load()), slot: slot}
	s.hi = max(s.lo, p.hi.Load())
	r.minLo, r.maxLo, r.maxHi, r.minEntry = min(r.minLo, s.lo), max(r.maxLo, s.lo), max(r.maxHi, s.hi), min(r.minEntry, entry)
	if !r.sorted {
		r.spans = append(r.spans, s)
		return
	}
	if r.kept { // slot < len(r.bySlot): the scan saw it
		r.bySlot[slot] = interval{s.lo, s.hi}
	}
	// After the spans with lo <= s.lo; each reach stays the largest hi so far.
	i, _ := slices.BinarySearchFunc(r.spans, s.lo+1, func(t span, lo uint64) int { return cmp.Compare(t.lo, lo) })
	s.reach = s.hi
	if i > 0 {
		s.reach = max(s.hi, r.spans[i-1].reach)
	}
	r.spans = slices.Insert(r.spans, i, s)
	for j := i + 1; j < len(r.spans); j++ {
		r.spans[j].reach = max(r.spans[j].reach, s.hi)
	}
}
