package refcount

// An Arc's strong count is a sticky counter (Anderson, Blelloch and Wei,
// "Turning Manual Concurrent Memory Reclamation into Automatic Reference
// Counting", PLDI 2022): once it has reached zero it stays there, and every
// increment is a single atomic add, wait-free, even one that must fail.
// (A compare-and-swap loop needs a load and a compare-and-swap that fails
// and retries whenever another goroutine changed the count in between.)
//
// Live counts are 1 to deadMin-1. The release that takes the count to 0
// marks it destroyed, a compare-and-swap from 0 to destroyedCount, and
// destroys the value only if that succeeds. An increment (Clone, Upgrade,
// Load, Swap, Guard.Clone) adds 1 whatever the count, and has a reference
// only if the count it made is live: past the mark it adds to a dead count
// and fails; between the release and the mark it makes the count 1 again,
// the mark fails, and the reference it took is now the last. That is the
// same history as if the increment had come just before the release, which
// is how it is linearized; the value is destroyed only once its count is
// marked, and nothing ever raises a marked count to a live one (a failed
// increment on a dead count is not undone: more than 2^62 of them would
// be needed to wrap around into the live range). So an Upgrade that races
// with the last Release either takes the last reference or fails, and once
// the destructor has started every increment fails.
//
// A release past zero (a copy of a released handle released again) gives
// its count back; if that leaves an unmarked zero, it came between the
// last release's add and its mark, and made the mark fail: it marks and
// destroys the value itself, then panics. An increment that fails on such
// a count, below zero for that moment, is not given back (that would cost
// the increment its inlining): the value then stays undestroyed, a leak
// that only follows that misuse, which the panic reports.
const (
	destroyedCount = 1 << 62 // the mark: a count past deadMin is dead
	deadMin        = 1 << 61
)

// liveCount reports whether n is the count of a live value, 1 to
// deadMin-1, with one comparison.
func liveCount(n int64) bool { return uint64(n-1) < deadMin-1 }

// incStrong adds a strong reference if the value is alive and reports
// whether it did.
func (h *header) incStrong() bool { return liveCount(h.strong.Add(1)) }

// releaseStrong drops one strong reference; the last one destroys the
// value on the calling goroutine.
func (h *header) releaseStrong() {
	if n := h.strong.Add(-1); !liveCount(n) {
		h.lastStrong(n)
	}
}

// lastStrong follows a release that left the count at n, not live: 0 for
// the release of the last reference, or else a release past zero (below
// zero, or a destroyed value's count), which panics.
func (h *header) lastStrong(n int64) {
	if n != 0 {
		// Give the count back. If that leaves an unmarked zero, the
		// release that reached zero found this one's add in the way of
		// its mark: mark and destroy here, then report the misuse.
		if h.strong.Add(1) == 0 {
			h.mark()
		}
		pastZero(h.ops.name(), gone(false), h.track.zeroAt(false))
	}
	h.mark()
}

// mark marks a count of zero destroyed and destroys the value, unless the
// count is no longer zero: an increment came first, and the reference it
// took is the last now.
func (h *header) mark() {
	if !h.strong.CompareAndSwap(0, destroyedCount) {
		return
	}
	h.track.reachedZero(false)
	h.ops.destroy(h)
}

// strongCount returns the count, 0 once the value is destroyed. An
// unmarked zero reads 1: its last release has not marked it yet, and an
// increment may still take the last reference, so a 0 read now must not
// be followed by a successful Upgrade. (The read is linearized before that
// release.)
func (h *header) strongCount() int {
	switch n := h.strong.Load(); {
	case n == 0:
		return 1
	case liveCount(n):
		return int(n)
	}
	return 0
}
