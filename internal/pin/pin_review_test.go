package pin

import (
	"runtime"
	"sync/atomic"
	"testing"
	"time"
)

// Pin returns the current P's id, in [0, GOMAXPROCS), and while pinned the
// goroutine is not preempted: with one P, a runnable goroutine cannot run
// until Unpin, even though the pinned one spins far past the 10 ms after
// which the runtime preempts. Unpin re-enables preemption.
func TestPinDisablesPreemption(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	var ran atomic.Bool
	done := make(chan struct{})
	go func() { ran.Store(true); close(done) }()
	id := Pin()
	end := time.Now().Add(30 * time.Millisecond)
	for time.Now().Before(end) {
	}
	early := ran.Load()
	Unpin()
	if id != 0 {
		t.Errorf("Pin with GOMAXPROCS=1 returned P %d", id)
	}
	if early {
		t.Fatal("another goroutine ran on the only P while this one was pinned")
	}
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("after Unpin the other goroutine never ran")
	}
}

// Pin and Unpin nest (a counter): the goroutine stays pinned until the last
// Unpin, and the P id is stable meanwhile.
func TestPinNests(t *testing.T) {
	a := Pin()
	b := Pin()
	Unpin()
	c := Pin()
	Unpin()
	Unpin()
	if a != b || b != c || a < 0 || a >= runtime.GOMAXPROCS(0) {
		t.Fatalf("pinned P ids %d %d %d, GOMAXPROCS %d", a, b, c, runtime.GOMAXPROCS(0))
	}
}
