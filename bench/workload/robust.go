package workload

import (
	"fmt"
	"runtime"
	"sync/atomic"

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
	// Hazard: the domain's Stats while the protection was still held, and
	// the bound on pending objects that package hazard documents, computed
	// from them for W = Goroutines + 1 goroutines that may be retiring at
	// once (the churners and the stalled reader).
	Hazard *hazard.Stats
	Bound  uint64
}

// Within reports whether a hazard run's pending objects stayed within
// their documented bound for the whole run (the domain's own peak, not
// only the samples); it is false for other schemes.
func (r Robust) Within() bool { return r.Hazard != nil && r.Hazard.PeakPending <= r.Bound }

// Robustness runs cfg on a fresh, prefilled instance of v while one more
// goroutine stalls on the instance's collector or domain. v must be an
// epoch or hazard variant. Keep cfg.MaxPending set: with epoch, nothing is
// reclaimed until the stalled guard exits.
func Robustness(v Variant, cfg Config) (out Robust, err error) {
	if !v.Scheme.Reclaims() {
		return out, fmt.Errorf("workload: %s has no reader to stall", v.Name())
	}
	cfg.Structure = v.Structure
	inst := v.New(Options{Capacity: v.Structure.Capacity(cfg.Keys, cfg.Goroutines), TrackGuards: true})
	defer func() {
		if cerr := inst.Close(); err == nil {
			err = cerr
		}
	}()
	Prefill(inst, cfg)
	cfg.Series = true

	out.Variant = v
	var release func()
	if inst.Collector != nil {
		release = stallEpoch(inst.Collector)
	} else {
		release = stallHazard(inst.Domain)
	}
	res, err := Run(inst, cfg)
	if inst.Collector != nil {
		st := inst.Collector.Stats()
		out.Epoch = &st
	} else {
		st := inst.Domain.Stats()
		out.Hazard = &st
		out.Bound = hazardBound(st, cfg.Goroutines+1)
	}
	release()
	out.Result = res
	return out, err
}

// hazardBound is package hazard's bound on pending objects,
// Threshold + (S+1) x W x (64 + 2 x Slots) + 63 x P, at its worst: the w
// goroutines inside Retire and the aging timer all at once (S = W scans
// in progress), and every processor's open batch one short of full.
func hazardBound(st hazard.Stats, w int) uint64 {
	w++ // the aging timer
	return uint64(st.Threshold + (w+1)*w*(64+2*st.Slots) + 63*runtime.GOMAXPROCS(0))
}

// stallEpoch opens a guard on c on a goroutine of its own, which then
// sleeps until release is called. Its stack is what Stats reports as
// OldestGuardStack.
func stallEpoch(c *epoch.Collector) (release func()) {
	return stall(func(sleep func()) {
		g := c.Enter()
		defer g.Exit()
		sleep()
	})
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
