package fence

import (
	"sync/atomic"
	"time"
)

// Shared is a heavy fence that many reclaimers share. Heavy costs a
// system call that, with every processor busy, interrupts them all (12 to
// 14 us on the 2-core development machine, against 0.2 us when the other
// core is idle): more than the work between two scans when scans are
// frequent. So a reclaimer takes the newest fence that another one
// completed, provided it acts only on what was retired before that fence
// began, and starts one itself at most every gap (see Fence). The zero
// value is ready to use.
type Shared struct {
	at   atomic.Int64  // when the newest fence started (see now)
	last atomic.Int64  // how long the newest completed fence took, in ns
	dur  atomic.Int64  // the shorter of the last two fences' durations
	from atomic.Uint64 // the counter's value read before the newest completed fence
}

// Fence returns the value of counter read just before the newest fence of
// s that has completed (0 if none has), after running one itself if fresh,
// or if none has started in the last gap nanoseconds. counter is a
// sequence that the caller's retirements advance (an epoch, a batch
// sequence): whatever was retired before counter moved past a value v is
// ordered before a fence whose load of counter read v or more, so a caller
// whose Fence returns v may act on what was retired before counter moved
// past v, as after a fence of its own.
//
// The fence keeps the processor (see Heavy): other reclaimers wait for it.
func (s *Shared) Fence(counter *atomic.Uint64, gap int64, fresh bool) uint64 {
	t := now()
	if last := s.at.Load(); fresh || t-last >= gap && s.at.CompareAndSwap(last, t) {
		start := counter.Load()
		if fresh { // a fresh fence serves the others too
			s.startedAt(t)
		}
		Heavy()
		d := now() - t
		s.dur.Store(min(d, s.last.Swap(d))) // one fence slowed by preemption does not count
		for {
			from := s.from.Load()
			if from >= start || s.from.CompareAndSwap(from, start) {
				break
			}
		}
	}
	return s.from.Load()
}

// startedAt records that a fence started at t, unless a later one has
// started already: time never goes back, or the gap would be cut short.
func (s *Shared) startedAt(t int64) {
	for last := s.at.Load(); last < t && !s.at.CompareAndSwap(last, t); last = s.at.Load() {
	}
}

// From returns the counter's value read before the newest completed fence
// (0 if none has completed), without running one.
func (s *Shared) From() uint64 { return s.from.Load() }

// Duration returns the shorter of the last two fences' durations in
// nanoseconds (0 before the first): what a fence costs now.
func (s *Shared) Duration() int64 { return s.dur.Load() }

// MinGap, MaxGap and gapDuty set Gap: shared fences take about 1/gapDuty
// of one processor's time, but start at most every MinGap (with the other
// processors idle a fence takes about 0.2 us) and at least every MaxGap
// while reclaimers ask (a slow fence must not stall reclamation).
const (
	MinGap  = int64(5 * time.Microsecond)
	MaxGap  = int64(500 * time.Microsecond)
	gapDuty = 20
)

// Gap returns a gap for Fence in proportion to what fences cost now:
// gapDuty times Duration, within [MinGap, MaxGap].
func (s *Shared) Gap() int64 { return min(max(gapDuty*s.Duration(), MinGap), MaxGap) }

// SetLastStart sets when the newest fence is taken to have started, on
// the clock of Fence (nanoseconds since the process started): for tests,
// math.MinInt64/2 for long ago, math.MaxInt64 for never again without
// fresh.
func (s *Shared) SetLastStart(t int64) { s.at.Store(t) }

var start = time.Now()

// now reads a monotonic clock, in nanoseconds.
func now() int64 { return int64(time.Since(start)) }
