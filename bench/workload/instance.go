package workload

import (
	"github.com/go-reclaim/reclaim/epoch"
	"github.com/go-reclaim/reclaim/hazard"
)

// The constructors below build the Instances of the variants. An epoch
// variant's operations enter their guard in the adapter, next to the
// container call, as a user's code would.

// shared is an Instance whose goroutines hold nothing of their own: every
// Worker is w.
func shared(w Worker) *Instance {
	return &Instance{NewWorker: func() Worker { return w }}
}

// perGoroutine is an Instance whose Workers each hold something (an epoch
// Handle, hazard pointers) that acquire gets and release gives back.
func perGoroutine[H any](acquire func() H, release func(H), worker func(H) Worker) *Instance {
	return &Instance{NewWorker: func() Worker {
		h := acquire()
		w := worker(h)
		w.Close = func() { release(h) }
		return w
	}}
}

// epochInstance is an epoch variant: each Worker enters its guards through
// a Handle of c.
func epochInstance(c *epoch.Collector, worker func(*epoch.Handle) Worker) *Instance {
	inst := perGoroutine(c.Register, (*epoch.Handle).Unregister, worker)
	inst.Pending = func() uint64 { return c.Stats().Pending }
	inst.Flush, inst.Close, inst.Collector = c.Flush, c.Close, c
	return inst
}

// hazardInstance is a hazard variant: each Worker protects with n hazard
// pointers of d, acquired once.
func hazardInstance(d *hazard.Domain, n int, worker func(*hazard.Array) Worker) *Instance {
	inst := perGoroutine(func() *hazard.Array { return d.AcquireArray(n) }, (*hazard.Array).Release, worker)
	inst.Pending = func() uint64 { return d.Stats().Pending }
	inst.Flush, inst.Close, inst.Domain = d.Flush, d.Close, d
	return inst
}

// newCollector returns the collector of an epoch variant, in the robust
// mode for an epoch-robust one.
func newCollector(o Options, opts ...epoch.Option) *epoch.Collector {
	if o.TrackGuards {
		opts = append(opts, epoch.WithGuardTracking())
	}
	if o.robust {
		opts = append(opts, epoch.WithRobust())
	}
	return epoch.New(opts...)
}

// robustly turns an epoch-pool constructor into the epoch-robust one: the
// same adapter on a collector made WithRobust. The containers need nothing
// else (their NewEpoch constructors take either mode), so the two schemes
// run the same code and differ only in how the collector reclaims.
func robustly(mk func(Options) *Instance) func(Options) *Instance {
	return func(o Options) *Instance {
		o.robust = true
		return mk(o)
	}
}
