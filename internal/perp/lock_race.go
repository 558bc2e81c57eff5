//go:build race

package perp

import "sync/atomic"

// raceLock gives the race detector the happens-before edge that pinning
// provides between goroutines that take turns on one P. It is never
// contended: only the pinned goroutine takes it.
type raceLock struct{ held atomic.Bool }

func (l *raceLock) lock() {
	if !l.held.CompareAndSwap(false, true) {
		panic("perp: shard taken by two goroutines at once")
	}
}

func (l *raceLock) unlock() { l.held.Store(false) }
