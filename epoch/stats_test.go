package epoch_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/go-reclaim/reclaim/epoch"
)

// A guard entered just now is reported as young, however many guards were
// entered on the same slot at the same epoch before it (a 15-bit pin
// sequence used to wrap after 32768 and make a new guard look as old as
// one seen before the wrap).
func TestStatsAgeSurvivesManyPinsAtOneEpoch(t *testing.T) {
	c := newCollector()
	h := c.Register()
	defer h.Unregister()
	g := h.Enter()
	require.Equal(t, 1, c.Stats().Guards) // the first look at this guard
	const held = 200 * time.Millisecond
	time.Sleep(held)
	g.Exit()
	epochBefore := c.Stats().Epoch
	for range 1<<15 - 1 { // the next pin is the 32768th after the first
		h.Enter().Exit()
	}
	g = h.Enter()
	st := c.Stats()
	g.Exit()
	require.Equal(t, epochBefore, st.Epoch, "the test needs every pin at one epoch")
	require.Less(t, st.OldestGuardAge, held, "a guard entered just now reported as old")
	require.NoError(t, c.Close())
}

// With guard tracking, Barrier inside one's own guard panics instead of
// waiting for itself.
func TestBarrierInsideOwnGuardPanics(t *testing.T) {
	c := newCollector(epoch.WithGuardTracking())
	g := c.Enter()
	require.PanicsWithValue(t, "epoch: Barrier called inside a guard of the same Collector on this goroutine: it would wait for its own guard to exit",
		func() {
			defer func() {
				r := recover()
				msg, _ := r.(string)
				if i := len("epoch: Barrier called inside a guard of the same Collector on this goroutine: it would wait for its own guard to exit"); len(msg) > i {
					require.Contains(t, msg[i:], "TestBarrierInsideOwnGuardPanics", "the message shows where the guard was entered")
					msg = msg[:i]
				}
				panic(msg)
			}()
			_ = c.Barrier(context.Background())
		})
	// Another goroutine's guard is waited for, not reported.
	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
		defer cancel()
		done <- c.Barrier(ctx)
	}()
	require.ErrorIs(t, <-done, context.DeadlineExceeded)
	g.Exit()
	require.NoError(t, c.Barrier(context.Background()))
	require.NoError(t, c.Close())
}
