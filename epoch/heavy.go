package epoch

import (
	"time"

	"github.com/go-reclaim/reclaim/internal/fence"
)

// sharedHeavy returns the epoch (era) read just before the newest heavy
// fence that has completed (1 if none has), after running one itself if
// fresh or if none has started for the current gap. The caller then acts
// only on what was sealed before that epoch: the fence orders those
// unlinks before every guard's later loads as well as a fence of its own
// would.
//
// A heavy fence costs a system call that, with every processor busy,
// interrupts them all (12 to 14 us on the 2-core development machine,
// against 0.2 us when the other core is idle), more than the work between
// two seals. So Pool seals and robust scans share fences: one starts at
// most every gap (see gap). In the classic mode the gap is heavyDuty times
// the last fences' duration (the shorter of the last two, so that one
// fence slowed by a descheduled thread does not count), which keeps shared
// fences to about 1/heavyDuty of one processor's time, but at least
// heavyGapMin and at most heavyGapMax (a slow fence must not stall
// reclamation); in the robust mode it is heavyGapRobust. A batch waits up
// to two gaps and the fences before a seal can judge it. Callers that want
// progress now (fresh: Retire's full batches, Flush, Barrier, Close, the
// aging timer) run their own, which serves the seals too.
func (c *Collector) sharedHeavy(fresh bool) uint64 {
	now := monotonic()
	if last := c.heavyAt.Load(); fresh || now-last >= c.gap() && c.heavyAt.CompareAndSwap(last, now) {
		start := c.epoch.Load()
		if fresh {
			c.heavyAt.Store(now) // a fresh fence serves the seals too
		}
		// Keep the processor: other seals wait for this fence, and a
		// sweep may hold the reclaiming lock around it. Handed to another
		// goroutine, the processor comes back only after the scheduler has
		// run the others, seconds with a thousand goroutines (measured
		// with fresh fences that gave it up: the robust stack at 1,024
		// goroutines peaked at 299,017 pending instead of 97,771, both
		// with the classic mode's gap).
		fence.HeavyHeld()
		d := monotonic() - now
		d = min(d, c.heavyDur.Swap(d)) // one fence slowed by preemption does not stretch the gap
		c.heavyGap.Store(min(heavyDuty*d, int64(heavyGapMax)))
		for {
			from := c.heavyFrom.Load()
			if from >= start || c.heavyFrom.CompareAndSwap(from, start) {
				break
			}
		}
	}
	return max(c.heavyFrom.Load(), 1)
}

// gap is the least time between two shared heavy fences: fixed in the
// robust mode, whose seals can judge only what was sealed before the fence
// they share, and hold the rest until their slot seals again (measured at
// 64 and 1,024 goroutines on the Pool stack: peaks of 12,000-13,000 and
// 23,000-26,000 pending with a gap of 50 us, 64,000 and 98,000 with the
// classic mode's gap); set by the last fences in the classic mode, whose
// seals only wait for the epoch to advance.
func (c *Collector) gap() int64 {
	if c.robust {
		return int64(heavyGapRobust)
	}
	return max(int64(heavyGapMin), c.heavyGap.Load())
}

// heavyGapMin and heavyGapMax bound the time between two shared heavy
// fences, and heavyDuty sets it within those bounds as a multiple of the
// last fence's duration (see sharedHeavy): with the other processors idle
// a fence takes about 0.2 us, and the gap stays at its minimum.
const (
	heavyGapMin = 5 * time.Microsecond
	heavyGapMax = 500 * time.Microsecond
	heavyDuty   = 20

	heavyGapRobust = 50 * time.Microsecond
)
