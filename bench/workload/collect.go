package workload

import (
	"fmt"
	"os"
	"runtime"
	"sync"
	"time"
)

// collector starts a garbage collection at a fixed interval (after the
// previous one completed) until stop, for the structures whose question
// is what a collection costs with them in the heap.
type collector struct {
	quit chan struct{}
	done sync.WaitGroup
}

// startCollecting starts collecting every interval; nil if interval is 0.
func startCollecting(every time.Duration) *collector {
	if every <= 0 {
		return nil
	}
	c := &collector{quit: make(chan struct{})}
	c.done.Go(func() {
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-c.quit:
				return
			case <-t.C:
				runtime.GC()
			}
		}
	})
	return c
}

func (c *collector) stop() {
	if c != nil {
		close(c.quit)
		c.done.Wait()
	}
}

// residentBytes is the process's resident set size, from /proc/self/statm
// (Linux); 0 elsewhere.
func residentBytes() uint64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	var size, resident uint64
	if _, err := fmt.Sscan(string(b), &size, &resident); err != nil {
		return 0
	}
	return resident * uint64(os.Getpagesize())
}
