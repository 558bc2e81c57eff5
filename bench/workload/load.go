package workload

import (
	"sync/atomic"
	"time"
)

// batch is how many operations a goroutine runs between two looks at the
// stop flag; the first of each batch is timed for the latency histogram.
// It is odd so that a paired load's timed operations alternate between
// push and pop (with 64, every one timed was a push, and the latencies
// never saw a Pop's retire and the scans it starts).
const batch = 63

// load is one goroutine's share of a run.
type load struct {
	w      Worker
	rng    rng
	keys   uint64
	read2  uint32 // twice the read percentage: the op is drawn from [0, 200)
	paired bool
	push   bool // a paired load's next operation is a push
	ops    uint64
	hist   histogram
	reads  histogram // the timed operations that were reads
}

func newLoad(cfg *Config, i uint64) *load {
	return &load{
		rng:    rng(cfg.Seed + i*0x9e3779b97f4a7c15),
		keys:   cfg.Keys,
		read2:  uint32(2 * cfg.Mix.Read),
		paired: cfg.Structure.Paired,
		push:   true,
	}
}

// run runs batches until stop is set or, with limit > 0, exactly limit
// operations.
func (l *load) run(stop *atomic.Bool, limit uint64) {
	for {
		n := uint64(batch)
		if limit > 0 {
			n = min(n, limit-l.ops)
			if n == 0 {
				return
			}
		} else if stop.Load() {
			return
		}
		t := time.Now()
		read := l.op()
		d := time.Since(t) - clockCost
		l.hist.record(d)
		if read {
			l.reads.record(d)
		}
		for i := uint64(1); i < n; i++ {
			l.op()
		}
		l.ops += n
	}
}

// op runs one operation: a paired load alternates push and pop; any other
// draws the kind of operation from the low half of a random number and
// the key from the high half (Keys <= 2^32). It reports whether the
// operation was a read.
func (l *load) op() (read bool) {
	x := l.rng.next()
	if l.paired {
		if l.push {
			l.w.Insert(x)
		} else {
			l.w.Delete(0)
		}
		l.push = !l.push
		return false
	}
	k := (x >> 32) * l.keys >> 32
	switch c := uint32(x) % 200; {
	case c < l.read2:
		l.w.Read(k)
		return true
	case c&1 == 0:
		l.w.Insert(k)
	default:
		l.w.Delete(k)
	}
	return false
}
