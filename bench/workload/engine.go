package workload

import (
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// Config is one run: a structure's load on an Instance.
type Config struct {
	Structure  *Structure
	Keys       uint64 // key range: keys are uniform in [0, Keys)
	Mix        Mix    // ignored for a paired structure
	Goroutines int
	// Duration is how long the goroutines run. With OpsPerWorker set
	// instead, each runs exactly that many operations.
	Duration     time.Duration
	OpsPerWorker uint64
	Seed         uint64
	// SampleEvery is the interval between pending samples; 0 picks
	// Duration/200 within [1ms, 50ms].
	SampleEvery time.Duration
	// Series keeps every pending sample in Result.Series.
	Series bool
	// MaxPending ends the run early once pending objects exceed it (0: no
	// limit), so a stalled epoch guard cannot exhaust memory.
	MaxPending uint64
}

// Result is what one run measured.
type Result struct {
	Goroutines int
	Ops        uint64
	Elapsed    time.Duration
	// Allocs and Bytes are the heap allocations of the whole process
	// during the run (runtime/metrics): the structure's, plus a handful of
	// the run's own (the sampler and its ticker; with Series, the samples).
	Allocs, Bytes uint64
	GCCycles      uint64
	// GCCPU is the garbage collector's share of the CPU time available
	// (GOMAXPROCS x wall time), from the runtime's estimate.
	GCCPU float64
	// HeapLive is the heap the last collection of the run found live,
	// HeapScan the part of the heap a collection scans for pointers (its
	// mark work), and RSS the process's resident memory at the end of the
	// run (0 where /proc/self/statm cannot be read).
	HeapLive, HeapScan, RSS uint64
	// Latency is that of the timed operations, ReadLatency that of those
	// among them that were reads (zero without reads).
	Latency, ReadLatency Latency
	// Pending is nil for a scheme without pending objects. It describes
	// this run only: Run flushes the instance (Instance.Flush) before it
	// starts, so objects retired by earlier runs are not counted. Pending
	// counts objects from the moment they are retired, so it includes the
	// open batches: one goroutine on an epoch.Pool holds up to two batches
	// (DefaultBatchSize each), the open one and a sealed one waiting for
	// its grace period.
	Pending *Pending
	Series  []Sample // with Config.Series
	// Cut is true when the run ended early at Config.MaxPending.
	Cut bool
}

// OpsPerSec is the throughput of all goroutines together.
func (r Result) OpsPerSec() float64 { return float64(r.Ops) / r.Elapsed.Seconds() }

// NsPerOp is wall time per operation, as testing's RunParallel reports it.
func (r Result) NsPerOp() float64 { return float64(r.Elapsed.Nanoseconds()) / float64(r.Ops) }

// AllocsPerOp is heap allocations per operation.
func (r Result) AllocsPerOp() float64 { return float64(r.Allocs) / float64(r.Ops) }

// BytesPerOp is bytes allocated per operation.
func (r Result) BytesPerOp() float64 { return float64(r.Bytes) / float64(r.Ops) }

func (c *Config) check() error {
	switch {
	case c.Structure == nil:
		return errors.New("workload: no structure")
	case c.Goroutines < 1:
		return fmt.Errorf("workload: %d goroutines", c.Goroutines)
	case c.Keys < 1 || c.Keys > 1<<32:
		return fmt.Errorf("workload: key range %d is not in [1, 2^32]", c.Keys)
	case c.Duration <= 0 && c.OpsPerWorker == 0:
		return errors.New("workload: neither a duration nor a number of operations")
	case c.Mix.Read < 0 || c.Mix.Read > 100:
		return fmt.Errorf("workload: mix %v", c.Mix)
	}
	return nil
}

func (c *Config) sampleEvery() time.Duration {
	if c.SampleEvery > 0 {
		return c.SampleEvery
	}
	return min(max(c.Duration/200, time.Millisecond), 50*time.Millisecond)
}

// Run runs cfg's load on inst and measures it. inst must be prefilled
// (Prefill) for the numbers to be those of a steady state. The goroutines
// each make their Worker before the clock starts, a collection runs, and
// then they are released together.
func Run(inst *Instance, cfg Config) (Result, error) {
	if err := cfg.check(); err != nil {
		return Result{}, err
	}
	var (
		start, release     = make(chan struct{}), make(chan struct{})
		stop               atomic.Bool
		ready, ran, exited sync.WaitGroup
		loads              = make([]*load, cfg.Goroutines)
	)
	for i := range loads {
		l := newLoad(&cfg, uint64(i))
		loads[i] = l
		ready.Add(1)
		ran.Add(1)
		exited.Go(func() {
			l.w = inst.NewWorker()
			ready.Done()
			<-start
			l.run(&stop, cfg.OpsPerWorker)
			ran.Done()
			<-release // Close stays out of the measurement
			if l.w.Close != nil {
				l.w.Close()
			}
		})
	}
	ready.Wait()
	defer func() { close(release); exited.Wait() }()

	if inst.Flush != nil {
		// What earlier runs (a warm-up, another goroutine count) left in
		// the batches of goroutines that have since gone is reclaimed now,
		// not counted as this run's pending objects.
		inst.Flush()
	}
	runtime.GC() // the previous run's garbage is not this run's cost
	before := readRuntime()
	var smp *sampler
	if inst.Pending != nil {
		smp = startSampler(inst.Pending, cfg.sampleEvery(), cfg.MaxPending, cfg.Series)
	}
	collecting := startCollecting(cfg.Structure.CollectEvery)
	t0 := time.Now()
	close(start)
	res := Result{Goroutines: cfg.Goroutines}
	if cfg.OpsPerWorker == 0 {
		timer := time.NewTimer(cfg.Duration)
		select {
		case <-timer.C:
		case <-smp.overLimit():
			res.Cut = true
		}
		timer.Stop()
		stop.Store(true)
	}
	ran.Wait()
	res.Elapsed = time.Since(t0)
	collecting.stop()
	delta := readRuntime().since(before)
	res.HeapLive, res.HeapScan, res.RSS = delta.heapLive, delta.heapScan, residentBytes()
	if smp != nil {
		p, series := smp.finish()
		res.Pending, res.Series = &p, series
	}

	var hist, reads histogram
	for _, l := range loads {
		res.Ops += l.ops
		hist.merge(&l.hist)
		reads.merge(&l.reads)
	}
	res.Latency, res.ReadLatency = hist.latency(), reads.latency()
	res.Allocs, res.Bytes, res.GCCycles = delta.allocs, delta.bytes, delta.cycles
	if delta.totalCPU > 0 {
		res.GCCPU = delta.gcCPU / delta.totalCPU
	}
	return res, nil
}

// Prefill brings a fresh instance to the steady state of cfg's structure
// and key range: a set or map gets each key with probability 1/2, a stack
// or queue Keys/2 elements. It runs on one goroutine.
func Prefill(inst *Instance, cfg Config) {
	w := inst.NewWorker()
	r := rng(cfg.Seed ^ 0x9e3779b97f4a7c15)
	for k := range cfg.Keys {
		if cfg.Structure.Paired {
			if k%2 == 0 {
				w.Insert(r.next())
			}
		} else if r.next()&1 == 0 {
			w.Insert(k)
		}
	}
	if w.Close != nil {
		w.Close()
	}
}
