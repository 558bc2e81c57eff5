package workload

import (
	"runtime"

	"github.com/puzpuzpuz/xsync/v4"
)

// newXSyncMap is xsync's concurrent hash map, presized for every key.
func newXSyncMap(o Options) *Instance {
	m := xsync.NewMap[uint64, uint64](xsync.WithPresize(o.Capacity))
	return shared(Worker{
		Read:   func(k uint64) bool { _, ok := m.Load(k); return ok },
		Insert: func(k uint64) bool { _, loaded := m.LoadAndStore(k, k); return !loaded },
		Delete: func(k uint64) bool { _, ok := m.LoadAndDelete(k); return ok },
	})
}

// xsyncTries bounds the retries of one MPMCQueue operation.
const xsyncTries = 1 << 10

// newXSyncQueue is xsync's bounded MPMC queue. TryEnqueue and TryDequeue
// also fail when they lose a race for a slot, not only when the queue is
// full or empty, so each operation retries, yielding now and then, as its
// callers must.
func newXSyncQueue(o Options) *Instance {
	q := xsync.NewMPMCQueue[uint64](o.Capacity)
	return shared(Worker{
		Insert: func(k uint64) bool {
			return retry(func() bool { return q.TryEnqueue(k) })
		},
		Delete: func(uint64) bool {
			return retry(func() bool { _, ok := q.TryDequeue(); return ok })
		},
	})
}

// retry calls try until it succeeds, at most xsyncTries times.
func retry(try func() bool) bool {
	for i := 1; i <= xsyncTries; i++ {
		if try() {
			return true
		}
		if i%16 == 0 {
			runtime.Gosched()
		}
	}
	return false
}
