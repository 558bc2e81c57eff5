package goroutine

import (
	"runtime"
	"sync"
	"testing"
)

// Goroutines alive at the same time have distinct IDs, and a goroutine's ID
// does not change while it runs, across preemption and stack growth.
func TestCurrentIsStableAndDistinct(t *testing.T) {
	if Current() == 0 {
		t.Skip("no goroutine IDs on " + runtime.GOARCH)
	}
	const n = 64
	ids := make([]ID, n)
	var ready, done sync.WaitGroup
	ready.Add(n)
	done.Add(n)
	release := make(chan struct{})
	for i := range n {
		go func() {
			defer done.Done()
			id := Current()
			growStack(100)
			runtime.Gosched()
			if Current() != id {
				t.Errorf("goroutine %d: ID changed from %#x to %#x", i, id, Current())
			}
			ids[i] = id
			ready.Done()
			<-release // stay alive until every ID is recorded
		}()
	}
	ready.Wait()
	seen := map[ID]int{}
	for i, id := range ids {
		if j, dup := seen[id]; dup {
			t.Fatalf("goroutines %d and %d, alive together, share ID %#x", j, i, id)
		}
		seen[id] = i
	}
	close(release)
	done.Wait()
}

func growStack(n int) int {
	var pad [256]byte
	if n == 0 {
		return int(pad[0])
	}
	return growStack(n-1) + int(pad[n%256])
}
