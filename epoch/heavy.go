package epoch

import "time"

// sharedHeavy returns the epoch (era) read just before the newest shared
// heavy fence that has completed (1 if none has), after running one itself
// if fresh or if none has started for the current gap (see
// fence.Shared). The caller then acts only on what was sealed before that
// epoch: the fence orders those unlinks before every guard's later loads
// as well as a fence of its own would.
//
// So seals (Pool seals and Retire's full batches) and robust scans share
// fences: one starts at most every gap (see gap). A batch waits up to two
// gaps and the fences before a seal can judge it. Callers that want
// progress now (fresh: Flush, Barrier, Close, the aging timer) run their
// own, which serves the seals too. (Fresh fences that gave the processor
// up: the robust stack at 1,024 goroutines peaked at 299,017 pending
// instead of 97,771.)
func (c *Collector) sharedHeavy(fresh bool) uint64 {
	return max(c.heavy.Fence(&c.epoch, c.gap(), fresh), 1)
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
	return c.heavy.Gap()
}

// heavyGapRobust is the gap of the robust mode.
const heavyGapRobust = 50 * time.Microsecond
