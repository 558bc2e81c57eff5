package ager

import (
	"context"
	"sync/atomic"
	"testing"
	"time"
)

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(10 * time.Second); !cond(); time.Sleep(100 * time.Microsecond) {
		if time.Now().After(end) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// A tick runs after Arm and again for as long as it reports more work.
func TestTicksWhileWorkIsPending(t *testing.T) {
	var a Ager
	var ticks atomic.Int32
	a.Init(time.Millisecond, func() bool { return ticks.Add(1) < 3 })
	a.Arm()
	a.Arm() // already armed: no second timer
	waitFor(t, "three ticks", func() bool { return ticks.Load() == 3 })
	time.Sleep(5 * time.Millisecond)
	if n := ticks.Load(); n != 3 {
		t.Fatalf("%d ticks after the tick reported no more work, want 3", n)
	}
	a.Arm() // new work arms it again
	waitFor(t, "a tick after a new Arm", func() bool { return ticks.Load() == 4 })
	a.Stop()
}

// No tick starts after Stop, and Arm after Stop does nothing.
func TestStop(t *testing.T) {
	var a Ager
	var ticks atomic.Int32
	a.Init(time.Millisecond, func() bool { ticks.Add(1); return true })
	a.Arm()
	waitFor(t, "a tick", func() bool { return ticks.Load() > 0 })
	a.Stop()
	time.Sleep(2 * time.Millisecond) // a tick already running may finish
	n := ticks.Load()
	a.Arm()
	time.Sleep(5 * time.Millisecond)
	if ticks.Load() != n {
		t.Fatal("a tick ran after Stop")
	}
}

// A disabled Ager never ticks.
func TestDisabled(t *testing.T) {
	var a Ager
	a.Init(0, func() bool { t.Error("a disabled Ager ticked"); return false })
	a.Arm()
	time.Sleep(2 * time.Millisecond)
	a.Stop()
}

// A panic in a tick is re-raised once, with its value, by Rethrow.
func TestRethrow(t *testing.T) {
	type failure struct{ code int }
	var a Ager
	var ticks atomic.Int32
	a.Init(time.Millisecond, func() bool {
		// Only the first tick panics: a tick that the panicking one re-armed
		// may still run after Stop, and a second panic would be raised by
		// the second Rethrow below.
		if ticks.Add(1) == 1 {
			panic(failure{7})
		}
		return false
	})
	a.Arm()
	waitFor(t, "the tick's panic", func() bool { return a.npanics.Load() != 0 })
	a.Stop()
	func() {
		defer func() {
			if r := recover(); r != (failure{7}) {
				t.Fatalf("Rethrow raised %v, want the tick's own value", r)
			}
		}()
		a.Rethrow()
		t.Fatal("Rethrow did not panic")
	}()
	a.Rethrow() // once only
}

// Wait after Stop waits for the tick that is running, and the tick's panic
// is stored by the time Wait reports true.
func TestWaitForTheRunningTick(t *testing.T) {
	var a Ager
	running, release := make(chan struct{}), make(chan struct{})
	a.Init(time.Millisecond, func() bool {
		close(running)
		<-release
		panic("boom")
	})
	a.Arm()
	<-running
	a.Stop()
	ctx, cancel := context.WithTimeout(context.Background(), time.Millisecond)
	defer cancel()
	if a.Wait(ctx) {
		t.Fatal("Wait reported no tick running while one was blocked")
	}
	close(release)
	if !a.Wait(context.Background()) {
		t.Fatal("Wait with a context that never ends gave up")
	}
	defer func() {
		if r := recover(); r != "boom" {
			t.Fatalf("Rethrow after Wait raised %v, want the tick's panic", r)
		}
	}()
	a.Rethrow()
	t.Fatal("Rethrow after Wait did not panic")
}

// Panics of several ticks met before anyone calls in each reach a caller,
// the oldest first (an independent review found the second one dropped).
func TestEveryTickPanicIsRaised(t *testing.T) {
	var a Ager
	var ticks atomic.Int32
	a.Init(time.Millisecond, func() bool {
		if n := ticks.Add(1); n <= 2 {
			panic(int(n))
		}
		return false
	})
	a.Arm()
	waitFor(t, "two ticks' panics", func() bool { return a.npanics.Load() == 2 })
	a.Stop()
	a.Wait(context.Background())
	for want := 1; want <= 2; want++ {
		func() {
			defer func() {
				if r := recover(); r != want {
					t.Fatalf("Rethrow %d raised %v, want %d", want, r, want)
				}
			}()
			a.Rethrow()
			t.Fatalf("Rethrow %d did not panic", want)
		}()
	}
	a.Rethrow() // nothing left
}
