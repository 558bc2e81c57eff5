package workload

import (
	"github.com/go-reclaim/reclaim/epoch"
	"github.com/go-reclaim/reclaim/hazard"
)

// Worker is one goroutine's handle on an Instance: what it holds for many
// operations (an epoch Handle, hazard pointers) lives in the closures.
// Insert and Delete are the updates; for a stack or a queue they are push
// and pop (Delete ignores its key) and Read is never called. A Worker
// belongs to the goroutine that made it.
type Worker struct {
	Read   func(key uint64) bool
	Insert func(key uint64) bool
	Delete func(key uint64) bool
	// Close gives back what the worker holds; nil if nothing.
	Close func()
}

// Instance is one structure under test, shared by every Worker made from
// it.
type Instance struct {
	// NewWorker is called on the goroutine that will use the Worker.
	NewWorker func() Worker
	// Pending reports the retired objects not yet reclaimed; nil for a
	// scheme that has none (the garbage collector's and Go's alternatives).
	Pending func() uint64
	// Flush reclaims, without waiting, whatever no open guard or hazard
	// pointer holds back (epoch.Collector.Flush, hazard.Domain.Flush); nil
	// for a scheme without pending objects. Run calls it before each run,
	// so that a run's pending figure is its own and not what an earlier
	// run's goroutines left in their batches.
	Flush func()
	// Close reclaims everything; nil if there is nothing to reclaim.
	Close func() error
	// Collector or Domain is the scheme's, so that Robustness can stall a
	// reader on it; both are nil for the other schemes.
	Collector *epoch.Collector
	Domain    *hazard.Domain
}

// Options configure a new Instance.
type Options struct {
	// Capacity is the most elements the instance will hold at once. It
	// sizes what a variant allocates up front: a channel's or a bounded
	// queue's capacity, a map's buckets.
	Capacity int
	// TrackGuards creates the epoch collector WithGuardTracking, so that
	// its Stats name where a stalled guard was entered.
	TrackGuards bool

	robust bool // the epoch collector is made WithRobust (set by robustly)
}

// Variant is a structure under one scheme.
type Variant struct {
	Structure *Structure
	Scheme    Scheme
	New       func(Options) *Instance
}

// Name is "structure/scheme".
func (v Variant) Name() string { return v.Structure.Name + "/" + string(v.Scheme) }

// Variants lists every variant of every structure, structures in the order
// of Structures and schemes in the order of Schemes.
func Variants() []Variant {
	var vs []Variant
	for _, s := range Structures() {
		for _, sc := range Schemes() {
			if mk, ok := s.variants[sc]; ok {
				vs = append(vs, Variant{Structure: s, Scheme: sc, New: mk})
			}
		}
	}
	return vs
}
