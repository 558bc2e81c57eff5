package hazard_test

import (
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/go-reclaim/reclaim/hazard"
)

// waitFor fails the test if ch is not closed within liveness.
func waitFor(t *testing.T, what string, ch <-chan struct{}) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(liveness):
		require.FailNow(t, what+" did not happen within "+liveness.String())
	}
}

// Issue 12 item 9: an object retired with nothing happening afterwards
// waited for a full batch, a Barrier or Close. With the default
// MaxBatchAge it is reclaimed by the timer, with no further call.
func TestAgingReclaimsIdleObject(t *testing.T) {
	d := hazard.New()
	freed := make(chan struct{})
	hazard.Retire(d, new(int), func(*int) { close(freed) })
	waitFor(t, "reclaiming an idle object", freed)
	// The sweep counts what it reclaimed when it ends; a Barrier waits for it.
	require.NoError(t, d.Barrier(waitCtx(t)))
	st := d.Stats()
	require.EqualValues(t, 1, st.Reclaimed)
	require.Zero(t, st.Pending)
	require.NoError(t, d.Close())
}

// The timer keeps ticking while an object stays protected, and reclaims it
// once it is not, with no further call.
func TestAgingReclaimsOnceUnprotected(t *testing.T) {
	d := hazard.New(hazard.WithMaxBatchAge(time.Millisecond))
	x, hp := protectUnlinked(t, d)
	xFreed, yFreed := make(chan struct{}), make(chan struct{})
	hazard.Retire(d, x, func(*int) { close(xFreed) })
	hazard.Retire(d, new(int), func(*int) { close(yFreed) })
	waitFor(t, "reclaiming the unprotected object", yFreed) // a tick ran while x was protected
	select {
	case <-xFreed:
		require.FailNow(t, "a protected object was reclaimed")
	default:
	}
	hp.Release()
	waitFor(t, "reclaiming the object once released", xFreed)
	require.NoError(t, d.Close())
}

// A free function that panics on the timer's goroutine: the panic reaches
// the next caller (here Barrier), once, and the rest is reclaimed.
func TestAgingRethrowsPanic(t *testing.T) {
	d := hazard.New(hazard.WithMaxBatchAge(time.Millisecond))
	ran := make(chan struct{})
	hazard.Retire(d, new(int), func(*int) { close(ran); panic("boom") })
	waitFor(t, "the timer running the free function", ran)
	var got any
	deadline := time.Now().Add(liveness)
	for got == nil && time.Now().Before(deadline) { // the timer records the panic after the free function's close
		got, _ = barrierRecover(waitCtx(t), d)
		time.Sleep(time.Millisecond)
	}
	require.Equal(t, "boom", got)
	require.NotPanics(t, func() { require.NoError(t, d.Barrier(waitCtx(t))) }, "rethrown once")
	require.NoError(t, d.Close())
	st := d.Stats()
	require.EqualValues(t, 1, st.Reclaimed)
}

// Close stops the timer: the Domain, once closed, starts no goroutine
// (goleak checks the end of the run), and a Close while the timer is
// stuck in a free function returns ErrBusy instead of waiting for it.
func TestCloseReturnsWhileTimerStuck(t *testing.T) {
	d := hazard.New(hazard.WithMaxBatchAge(time.Millisecond))
	entered, release := make(chan struct{}), make(chan struct{})
	blocker := &trackedObj{}
	hazard.Retire(d, blocker, func(o *trackedObj) {
		close(entered)
		<-release
		o.freed.Add(1)
	})
	var c objCounter
	for range 10 {
		hazard.Retire(d, c.make(), freeObj)
	}
	waitFor(t, "the timer running the blocking free function", entered)
	var err error
	returnsWithin(t, "Close while the timer is stuck", func() { err = d.Close() })
	if err != nil { // nil if the timer had reclaimed the others before it met the blocker
		require.ErrorIs(t, err, hazard.ErrBusy)
	}
	close(release)
	for d.Stats().Pending != 0 {
		time.Sleep(time.Millisecond)
	}
	require.NoError(t, d.Close())
	require.EqualValues(t, 1, blocker.freed.Load())
	c.requireFreed(t)
}

// A free function that panics on the timer's goroutine while Close waits
// for that tick's reclamation: the panic comes out of that Close (the tick
// stores it only after it has let go of what Close waited for), and the
// next Close returns nil.
func TestCloseRaisesThePanicOfTheTickItWaitedFor(t *testing.T) {
	d := hazard.New(hazard.WithMaxBatchAge(time.Millisecond))
	running, release := make(chan struct{}), make(chan struct{})
	hazard.Retire(d, new(int), func(*int) {
		close(running)
		<-release
		panic("boom")
	})
	waitFor(t, "the timer running the free function", running)
	first := make(chan any, 1)
	go func() {
		defer func() { first <- recover() }()
		_ = d.Close()
	}()
	time.Sleep(20 * time.Millisecond) // Close waits for the tick (up to a second)
	close(release)
	require.Equal(t, "boom", <-first, "the Close that waited for the tick")
	require.NotPanics(t, func() { require.NoError(t, d.Close()) }, "the second Close")
	require.Zero(t, d.Stats().Pending)
}

func TestAgingDisabled(t *testing.T) {
	d := hazard.New(hazard.WithMaxBatchAge(0))
	hazard.Retire(d, new(int), func(*int) {})
	time.Sleep(50 * time.Millisecond) // five default ages
	require.EqualValues(t, 1, d.Stats().Pending, "nothing but Retire, Flush, Barrier and Close reclaims")
	require.NoError(t, d.Close())
	require.Zero(t, d.Stats().Pending)
}

func TestMisuseMaxBatchAge(t *testing.T) {
	require.PanicsWithValue(t, "hazard: WithMaxBatchAge(-1ms): the age must not be negative (0 disables aging)",
		func() { hazard.WithMaxBatchAge(-time.Millisecond) })
	require.PanicsWithValue(t, "hazard: Barrier with a nil context", func() {
		//lint:ignore SA1012 the misuse under test
		_ = hazard.New().Barrier(nil)
	})
}

// Issue 12 item 10: a goroutine that calls Barrier while it protects a
// retired object itself waits for itself, until ctx ends (documented on
// Barrier; a Pointer does not know its goroutine, so it cannot be told
// apart from a slow reader).
func TestBarrierWhileOwnGoroutineProtects(t *testing.T) {
	d := hazard.New()
	x, hp := protectUnlinked(t, d)
	var freed atomic.Int32
	hazard.Retire(d, x, func(*int) { freed.Add(1) })
	barrierTimesOut(t, d, "Barrier while its own goroutine protects")
	require.Zero(t, freed.Load())
	hp.Release()
	require.NoError(t, d.Barrier(waitCtx(t)))
	require.EqualValues(t, 1, freed.Load())
	require.NoError(t, d.Close())
}

// Issue 12 item 11: one process-wide Domain, which must not be closed.
func TestDefault(t *testing.T) {
	d := hazard.Default()
	require.Same(t, d, hazard.Default())
	require.PanicsWithValue(t,
		"hazard: Close of the Default domain: it is shared by the whole process and must never be closed; close only Domains made with New",
		func() { _ = d.Close() })
	// Still open and working.
	x, hp := protectUnlinked(t, d)
	hp.Release()
	freed := make(chan struct{})
	hazard.Retire(d, x, func(*int) { close(freed) })
	d.Flush()
	waitFor(t, "reclaiming through the Default domain", freed)
	require.NoError(t, d.Barrier(waitCtx(t)))
}

func ExampleDefault() {
	var current atomic.Pointer[config]
	current.Store(&config{name: "v1"})

	hp := hazard.Default().Acquire()
	fmt.Println("reading", hazard.Protect(hp, &current).name)
	hp.Release()

	old := current.Swap(&config{name: "v2"})
	closed := make(chan struct{})
	hazard.Retire(hazard.Default(), old, func(c *config) { fmt.Println("closing", c.name); close(closed) })
	hazard.Default().Flush() // v1 is not protected: Flush reclaims it now
	<-closed
	// Output:
	// reading v1
	// closing v1
}
