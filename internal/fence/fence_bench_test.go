package fence

import (
	"runtime"
	"sync/atomic"
	"testing"
)

// BenchmarkHeavy is the heavy fence with the other cores idle, and
// BenchmarkHeavyBusy with a goroutine spinning on every other processor,
// which membarrier must then interrupt: the figures the epoch package's
// documentation quotes for its cost. In the sequentially consistent mode
// (RECLAIM_FENCE=sc, -race) Heavy does nothing.
func BenchmarkHeavy(b *testing.B) {
	for b.Loop() {
		Heavy()
	}
}

func BenchmarkHeavyBusy(b *testing.B) {
	var stop atomic.Bool
	done := make(chan struct{})
	spinners := runtime.GOMAXPROCS(0) - 1
	for range spinners {
		go func() {
			for !stop.Load() {
			}
			done <- struct{}{}
		}()
	}
	for b.Loop() {
		Heavy()
	}
	stop.Store(true)
	for range spinners {
		<-done
	}
}
