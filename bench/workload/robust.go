package workload

import (
	"fmt"
	"math"
	"runtime"
	"sync/atomic"
	"time"

	"github.com/go-reclaim/reclaim/epoch"
	"github.com/go-reclaim/reclaim/hazard"
)

// Robust is the outcome of a robustness run: one reader stalls inside a
// guard (epoch) or holding a protection (hazard) for the whole run while
// cfg.Goroutines others churn.
type Robust struct {
	Variant Variant
	Result  Result // Result.Series is pending over time
	// Epoch: the collector's Stats while the guard was still stalled. Its
	// collector tracks guards, so OldestGuardStack says where the stalled
	// guard was entered.
	Epoch *epoch.Stats
	// Hazard: the domain's Stats while the protection was still held.
	Hazard *hazard.Stats
	// Bound is the documented bound on pending objects that Within checks,
	// 0 where none applies. For hazard it is package hazard's, computed
	// from Hazard for W = Goroutines + 1 goroutines that may be retiring at
	// once (the churners and the stalled reader), and holds at every
	// moment. For epoch-robust it is package epoch's robust-mode bound for
	// the stalled guard alone (see robustBound), which Settled is checked
	// against: the bound also counts every churner's open guard by the eras
	// it reserved, which a churner descheduled mid-operation can make as
	// large as it likes, so pending while they churn has no bound this run
	// can compute.
	Bound uint64
	// Settled (epoch-robust) is pending once the churners have stopped and
	// unregistered and the collector was flushed, with the stalled guard
	// still open: the open batches, and what that guard holds back.
	Settled uint64
	// StallEras (epoch-robust) is how many eras the stalled guard may have
	// reserved beyond the one it entered at: an upper bound on its d in the
	// bound, from the era read before it entered and after it reserved.
	StallEras uint64
}

// Within reports whether pending objects stayed within their documented
// bound: for hazard, the domain's own peak over the whole run (not only
// the samples); for epoch-robust, Settled. It is false for other schemes.
func (r Robust) Within() bool {
	switch {
	case r.Hazard != nil:
		return r.Hazard.PeakPending <= r.Bound
	case r.Variant.Scheme == EpochRobust && r.Bound > 0:
		return r.Settled <= r.Bound
	}
	return false
}

// Thirds returns the highest pending sample in the first and in the last
// third of the run's time. The sample taken before the churners start is
// left out; ok is false unless each third has at least two samples (the
// sampler competes with the churners for the processors, so a short run
// may have only a few).
func (r Robust) Thirds() (first, last uint64, ok bool) {
	s := r.Result.Series
	if len(s) < 2 {
		return 0, 0, false
	}
	s = s[1:]
	end := s[len(s)-1].At
	var nFirst, nLast int
	for _, x := range s {
		if x.At <= end/3 {
			first = max(first, x.Pending)
			nFirst++
		}
		if x.At >= end-end/3 {
			last = max(last, x.Pending)
			nLast++
		}
	}
	return first, last, nFirst >= 2 && nLast >= 2
}

// Flat reports whether pending stopped growing: the last third's peak is
// at most twice the first third's plus flatSlack. A scheme that a stalled
// reader stops from reclaiming grows in proportion to the operations run,
// so its last third peaks near three times its first, far above the slack;
// a bounded scheme reaches its level within the first third. It is false
// when Thirds has too few samples to tell.
func (r Robust) Flat() bool {
	first, last, ok := r.Thirds()
	return ok && last <= 2*first+flatSlack(r)
}

// flatSlack absorbs what goroutines hold in flight, which comes and goes
// from one sample to the next: two epoch batches (the open one and a
// sealed one waiting) for each churner, the stalled reader and the aging
// timer.
func flatSlack(r Robust) uint64 {
	return uint64(2 * epoch.DefaultBatchSize * (r.Result.Goroutines + 2))
}

// Robustness runs cfg on a fresh, prefilled instance of v while one more
// goroutine stalls on the instance's collector or domain. v must be an
// epoch or hazard variant. Keep cfg.MaxPending set: with classic epoch,
// nothing is reclaimed until the stalled guard exits.
func Robustness(v Variant, cfg Config) (out Robust, err error) {
	if !v.Scheme.Reclaims() {
		return out, fmt.Errorf("workload: %s has no reader to stall", v.Name())
	}
	cfg.Structure = v.Structure
	capacity := v.Structure.Capacity(cfg.Keys, cfg.Goroutines)
	inst := v.New(Options{Capacity: capacity, TrackGuards: true})
	defer func() {
		if cerr := inst.Close(); err == nil {
			err = cerr
		}
	}()
	Prefill(inst, cfg)
	cfg.Series = true

	out.Variant = v
	var release func()
	if c := inst.Collector; c != nil {
		release, out.StallEras = stallEpoch(c)
	} else {
		release = stallHazard(inst.Domain)
	}
	res, err := Run(inst, cfg)
	switch c := inst.Collector; {
	case c != nil:
		st := c.Stats()
		out.Epoch = &st
		if c.Robust() {
			// Run returns once every churner has unregistered.
			out.Settled, out.Bound = settle(c, capacity, cfg.Goroutines+1, out.StallEras)
		}
	default:
		st := inst.Domain.Stats()
		out.Hazard = &st
		out.Bound = hazardBound(st, cfg.Goroutines+1)
	}
	release()
	out.Result = res
	return out, err
}

// settle flushes c, whose only open guard is the stalled one, and returns
// its pending objects and their bound. The aging timer may be sweeping at
// that moment (Flush then leaves the sweep to it, and Stats counts what it
// is still handing back), so settle takes the least of a few readings:
// with no churner left, nothing can make pending grow between them.
func settle(c *epoch.Collector, nodes, working int, d uint64) (pending, bound uint64) {
	pending = math.MaxUint64
	var st epoch.Stats
	for range 3 {
		c.Flush()
		st = c.Stats()
		pending = min(pending, st.Pending)
		time.Sleep(time.Millisecond)
	}
	return pending, robustBound(st.Slots, nodes, working, d)
}

// robustBound is package epoch's bound on pending objects in the robust
// mode once the working guards have exited and Flush has run,
// Σ_G (2·d_G + 3)·O with O = N + W + S·B, for one open guard G that
// reserved d eras beyond its entry (taken as at least 1, a guard that
// loaded once): S participant slots, B the batch size (the default: the
// variants do not set it), N nodes in the structure (its capacity: at most
// that many), W goroutines working on it.
func robustBound(slots, nodes, working int, d uint64) uint64 {
	s, b := uint64(slots), uint64(epoch.DefaultBatchSize)
	o := uint64(nodes) + uint64(working) + s*b
	return (2*max(d, 1) + 3) * o
}

// hazardBound is package hazard's bound on pending objects,
// 2 x Threshold + (S+2) x W x (64 + 2 x Slots) + 63 x (2P + 1), at its
// worst: the w goroutines inside Retire and the aging timer all at once (S
// = W scans in progress), every shard's open batch one short of full, and
// as many just handed over by a flush.
func hazardBound(st hazard.Stats, w int) uint64 {
	w++ // the aging timer
	return uint64(2*st.Threshold + (w+2)*w*(64+2*st.Slots) + 63*(2*runtime.GOMAXPROCS(0)+1))
}

// stallEpoch opens a guard on c on a goroutine of its own, reserves the
// present era in it as a reader's Load does, and sleeps until release is
// called. Its stack is what Stats reports as OldestGuardStack. eras is at
// least the number of eras the guard reserved beyond the one it entered
// at (0 in the classic mode, where eras do not apply): the era advances
// only at scans and seals, so it is the growth of the era from before
// Enter to after Reserve.
func stallEpoch(c *epoch.Collector) (release func(), eras uint64) {
	release = stall(func(sleep func()) {
		before := c.Stats().Epoch
		g := c.Enter()
		defer g.Exit()
		g.Reserve()
		if c.Robust() {
			eras = c.Stats().Epoch - before
		}
		sleep()
	})
	return release, eras
}

// stalledObject is what the stalled hazard reader protects.
type stalledObject struct{ _ [16]byte }

// stallHazard protects an object on a goroutine of its own, retires it as
// a writer would after unlinking it, and sleeps until release is called:
// the one object it protects is all it may hold back.
func stallHazard(d *hazard.Domain) (release func()) {
	return stall(func(sleep func()) {
		hp := d.Acquire()
		defer hp.Release()
		var slot atomic.Pointer[stalledObject]
		slot.Store(new(stalledObject))
		p := hazard.Protect(hp, &slot)
		slot.Store(nil)
		hazard.Retire(d, p, func(*stalledObject) {})
		sleep()
	})
}

// stall runs hold on a goroutine of its own and returns once hold calls
// sleep; sleep blocks until release is called, which then waits for hold
// to return.
func stall(hold func(sleep func())) (release func()) {
	asleep, wake, done := make(chan struct{}), make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		hold(func() {
			close(asleep)
			<-wake
		})
	}()
	<-asleep
	return func() {
		close(wake)
		<-done
	}
}
