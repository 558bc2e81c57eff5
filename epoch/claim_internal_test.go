package epoch

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// While a collector holds its claim on an idle slot, the slot's holder
// must not get into a guard: pin sees the claim and waits. The hook widens
// the collector's window to 50 us per claim; a pin that ignored the claim
// (or a collector that skipped fence.Heavy in the asymmetric mode) lets
// the holder in, and the hook sees it.
func TestHolderWaitsWhileSlotIsClaimed(t *testing.T) {
	c := New(WithMaxBatchAge(0))
	h := c.Register()
	var inside atomic.Bool
	var violations, claims atomic.Int64
	testHookClaimed = func(s *slot) {
		if s != h.s {
			return
		}
		claims.Add(1)
		deadline := time.Now().Add(50 * time.Microsecond)
		for time.Now().Before(deadline) {
			if inside.Load() {
				violations.Add(1)
				return
			}
		}
	}
	defer func() { testHookClaimed = nil }()

	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			select {
			case <-done:
				return
			default:
				c.Flush()
			}
		}
	})
	for end := time.Now().Add(5 * time.Second); claims.Load() < 200 && time.Now().Before(end); {
		g := h.Enter()
		inside.Store(true)
		for range 10 {
			_ = c.epoch.Load()
		}
		inside.Store(false)
		g.Exit()
		for range 100 { // idle a while, so that the collector claims the slot
			_ = c.epoch.Load()
		}
	}
	close(done)
	wg.Wait()
	h.Unregister()
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if claims.Load() == 0 {
		t.Fatal("no claim of the holder's slot happened: the test proves nothing")
	}
	if v := violations.Load(); v > 0 {
		t.Fatalf("%d of %d claims: the holder entered a guard on a claimed slot", v, claims.Load())
	}
	t.Logf("%d claims of an idle slot, holder never inside", claims.Load())
}
