package epoch

import (
	"context"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// A Flush that finds another goroutine sweeping (here: the reclaiming lock
// held for the whole Flush, as the aging timer or a Retire holds it) leaves
// the sweep to that goroutine, which must then sweep once more before it
// lets go: its own sweep judged the batches before Flush flushed and
// advanced. Without that second sweep, what Flush made reclaimable stayed
// pending until the next tick, and the benchmark suite counted it as the
// next run's (a CI failure of bench/workload's TestPendingIsTheRunsOwn).
func TestFlushDuringAnotherSweepIsServedByIt(t *testing.T) {
	for _, robust := range []bool{false, true} {
		opts := []Option{WithBatchSize(4), WithMaxBatchAge(0)}
		if robust {
			opts = append(opts, WithRobust())
		}
		c := New(opts...)
		p := NewPool[int](c)
		h := c.Register()
		freed := 0
		for range 10 {
			g := h.Enter()
			Retire(g, new(int), func(*int) { freed++ })
			p.Retire(g, p.Get(g))
			g.Exit()
		}
		h.Unregister() // its batches wait, open and sealed, in an idle slot

		require.True(t, c.reclaiming.CompareAndSwap(false, true)) // a sweep elsewhere
		c.Flush()
		require.NotZero(t, c.Stats().Pending, "robust=%v: Flush swept under the lock", robust)
		c.unlockSweep(true) // that sweep ends
		require.Zero(t, c.Stats().Pending, "robust=%v: the sweeper let go without sweeping for Flush", robust)
		require.Equal(t, 10, freed)
		require.NoError(t, c.Close())
	}
}

// A free function may Flush (while the sweep that runs it holds the lock,
// so the Flush requests another sweep): a chain of free functions that
// each retire the next object and Flush is drained by one Flush, in a loop
// that does not deepen the stack with each sweep it serves.
func TestFlushFromFreeFunctionsKeepsTheStackFlat(t *testing.T) {
	c := New(WithBatchSize(1), WithMaxBatchAge(0))
	const chain = 2000
	freed, deepest := 0, 0
	var link func(*int)
	link = func(*int) {
		freed++
		deepest = max(deepest, runtime.Callers(0, make([]uintptr, 4096)))
		if freed < chain {
			g := c.Enter()
			Retire(g, new(int), link)
			g.Exit()
			c.Flush()
		}
	}
	g := c.Enter()
	Retire(g, new(int), link)
	g.Exit()
	c.Flush()
	require.Equal(t, chain, freed)
	require.Less(t, deepest, 200, "each sweep served for a Flush added frames")
	require.NoError(t, c.Close())
}

// When a free function panics, the sweep stops there and the lock is
// released: no further sweep runs while the panic unwinds (it would run
// more free functions and could replace the panic with another).
func TestPanicInFreeFunctionEndsTheSweep(t *testing.T) {
	c := New(WithBatchSize(1), WithMaxBatchAge(0))
	ran := 0
	boom := func(*int) {
		ran++
		c.Flush() // requests a sweep while this one runs
		panic(ran)
	}
	g := c.Enter()
	for range 3 {
		Retire(g, new(int), boom)
	}
	g.Exit()
	require.PanicsWithValue(t, 1, func() { c.Flush() }, "the first panic propagates, alone")
	require.Equal(t, 1, ran)
	require.False(t, c.reclaiming.Load(), "the lock is released")
	for ran < 3 {
		func() {
			defer func() { _ = recover() }()
			c.Flush()
		}()
	}
	require.NoError(t, c.Close())
}

// A guard that honours a flush request in Exit does not wait for a Pool's
// lock (with thousands of goroutines, the aging timer's requests queued
// hundreds of them on it, their guards open): the request stays pending,
// and Barrier flushes the slot once it is idle, so nothing retired before
// it is left behind.
func TestExitDoesNotWaitForAPoolLockToFlush(t *testing.T) {
	for _, robust := range []bool{false, true} {
		opts := []Option{WithMaxBatchAge(0)}
		if robust {
			opts = append(opts, WithRobust())
		}
		c := New(opts...)
		p := NewPool[int](c)
		h := c.Register()
		g := h.Enter()
		p.Retire(g, p.Get(g))
		req := c.flushReq.Add(1) // as Flush and the aging timer ask
		p.mu.Lock()              // another goroutine holds the Pool's lock
		exited := make(chan struct{})
		go func() {
			g.Exit()
			close(exited)
		}()
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			t.Fatalf("robust=%v: Exit waited for the Pool's lock to honour a flush request", robust)
		}
		require.Less(t, h.s.Value.flushed.Load(), req, "robust=%v: the request was recorded as honoured without the Pool's batches", robust)
		p.mu.Unlock()
		require.NoError(t, c.Barrier(context.Background()))
		require.Zero(t, c.Stats().Pending, "robust=%v: Barrier left the slot's batches pending", robust)
		h.Unregister()
		require.NoError(t, c.Close())
	}
}
