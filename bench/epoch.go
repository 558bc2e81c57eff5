package bench

import (
	"sync/atomic"
	"testing"

	"github.com/go-reclaim/reclaim/container/stack"
	"github.com/go-reclaim/reclaim/epoch"
	"github.com/go-reclaim/reclaim/internal/cacheline"
)

// paddedWord is an announcement word on a cache line of its own.
type paddedWord struct {
	_ cacheline.Pad
	v atomic.Uint64
	_ cacheline.Pad
}

// AnnounceClear is the floor for entering and exiting a guard: announce an
// epoch read from a shared word, then clear it (two sequentially consistent
// stores, each an XCHG on amd64).
func AnnounceClear(b *testing.B) {
	var global, local paddedWord
	global.v.Store(1)
	for b.Loop() {
		local.v.Store(global.v.Load())
		local.v.Store(0)
	}
}

// EpochEnterExit measures Collector.Enter and Guard.Exit (slot taken from
// the per-P cache and given back).
func EpochEnterExit(b *testing.B) { enterExit(b) }

// EpochEnterExitRobust is EpochEnterExit on a Collector made WithRobust:
// the robust mode should add nothing to a guard that loads nothing.
func EpochEnterExitRobust(b *testing.B) { enterExit(b, epoch.WithRobust()) }

func enterExit(b *testing.B, opts ...epoch.Option) {
	c := epoch.New(opts...)
	defer c.Close()
	b.ReportAllocs()
	for b.Loop() {
		c.Enter().Exit()
	}
}

// EpochHandleEnterExit measures Enter and Exit through a Handle.
func EpochHandleEnterExit(b *testing.B) { handleEnterExit(b) }

// EpochHandleEnterExitRobust is EpochHandleEnterExit on a Collector made
// WithRobust.
func EpochHandleEnterExitRobust(b *testing.B) { handleEnterExit(b, epoch.WithRobust()) }

func handleEnterExit(b *testing.B, opts ...epoch.Option) {
	c := epoch.New(opts...)
	defer c.Close()
	h := c.Register()
	defer h.Unregister()
	b.ReportAllocs()
	for b.Loop() {
		h.Enter().Exit()
	}
}

// EpochEnterExitHelper measures Enter and Exit through a helper that takes
// a func(*epoch.Guard), as users write them: the guard escapes into a
// function value the compiler cannot see through, which is where a Guard
// on the heap would cost an allocation per Enter.
func EpochEnterExitHelper(b *testing.B) {
	c := epoch.New()
	defer c.Close()
	b.ReportAllocs()
	for b.Loop() {
		withGuard(c, useGuard)
	}
}

// EpochHandleEnterExitHelper is EpochEnterExitHelper through a Handle.
func EpochHandleEnterExitHelper(b *testing.B) {
	c := epoch.New()
	defer c.Close()
	h := c.Register()
	defer h.Unregister()
	b.ReportAllocs()
	for b.Loop() {
		withHandleGuard(h, useGuard)
	}
}

//go:noinline
func withGuard(c *epoch.Collector, f func(*epoch.Guard)) {
	g := c.Enter()
	defer g.Exit()
	f(g)
}

//go:noinline
func withHandleGuard(h *epoch.Handle, f func(*epoch.Guard)) {
	g := h.Enter()
	defer g.Exit()
	f(g)
}

var useGuard = func(*epoch.Guard) {}

// HelperCall is the helper of EpochEnterExitHelper with neither Enter nor
// Exit: a call that defers a call and calls a function value. It is what
// a helper costs by itself, the part of EpochEnterExitHelper's time (and
// EpochHandleEnterExitHelper's) that is not the guard's.
func HelperCall(b *testing.B) {
	b.ReportAllocs()
	var g epoch.Guard
	for b.Loop() {
		withNoGuard(&g, useGuard)
	}
}

//go:noinline
func withNoGuard(g *epoch.Guard, f func(*epoch.Guard)) {
	defer noExit(g)
	f(g)
}

//go:noinline
func noExit(*epoch.Guard) {}

// EpochRefresh measures Guard.Refresh on an open guard.
func EpochRefresh(b *testing.B) {
	c := epoch.New()
	defer c.Close()
	g := c.Enter()
	defer g.Exit()
	for b.Loop() {
		g.Refresh()
	}
}

// EpochRetire measures Retire of a preallocated object inside a guard that
// stays open; batches are sealed and reclaimed as they fill.
func EpochRetire(b *testing.B) {
	c := epoch.New()
	defer c.Close()
	obj := new(int)
	free := func(*int) {}
	b.ReportAllocs()
	for b.Loop() {
		g := c.Enter()
		epoch.Retire(g, obj, free)
		g.Exit()
	}
}

// StackGC is the Treiber stack with nodes left to the garbage collector:
// one push and one pop per op. It is the floor for StackEpochPool.
func StackGC(b *testing.B) {
	var s stack.GC[int]
	b.ReportAllocs()
	for b.Loop() {
		s.Push(1)
		s.Pop()
	}
}

// StackEpochPool is the Treiber stack recycling nodes through epoch.Pool:
// one push and one pop per op, each in its own guard.
func StackEpochPool(b *testing.B) { stackEpochPool(b) }

// StackEpochPoolRobust is StackEpochPool on a Collector made WithRobust:
// the Pool stamps each node's birth era, Pop reserves through epoch.Load,
// and each sealed batch advances the era or scans the reservations.
func StackEpochPoolRobust(b *testing.B) { stackEpochPool(b, epoch.WithRobust()) }

func stackEpochPool(b *testing.B, opts ...epoch.Option) {
	c := epoch.New(opts...)
	defer c.Close()
	s := stack.NewEpoch[int](c)
	b.ReportAllocs()
	for b.Loop() {
		g := c.Enter()
		s.Push(g, 1)
		g.Exit()
		g = c.Enter()
		s.Pop(g)
		g.Exit()
	}
}

// StackGCParallel is StackGC with GOMAXPROCS goroutines on one stack.
func StackGCParallel(b *testing.B) {
	var s stack.GC[int]
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			s.Push(1)
			s.Pop()
		}
	})
}

// StackEpochPoolParallel is StackEpochPool with GOMAXPROCS goroutines.
func StackEpochPoolParallel(b *testing.B) { stackEpochPoolParallel(b) }

// StackEpochPoolParallelRobust is StackEpochPoolParallel on a Collector
// made WithRobust: the era is shared by the goroutines' seals and scans.
func StackEpochPoolParallelRobust(b *testing.B) { stackEpochPoolParallel(b, epoch.WithRobust()) }

func stackEpochPoolParallel(b *testing.B, opts ...epoch.Option) {
	c := epoch.New(opts...)
	defer c.Close()
	s := stack.NewEpoch[int](c)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			g := c.Enter()
			s.Push(g, 1)
			g.Exit()
			g = c.Enter()
			s.Pop(g)
			g.Exit()
		}
	})
}

// StackEpochPoolHandle is StackEpochPool with one guard per push+pop pair,
// entered through a Handle.
func StackEpochPoolHandle(b *testing.B) {
	c := epoch.New()
	defer c.Close()
	s := stack.NewEpoch[int](c)
	h := c.Register()
	defer h.Unregister()
	b.ReportAllocs()
	for b.Loop() {
		g := h.Enter()
		s.Push(g, 1)
		s.Pop(g)
		g.Exit()
	}
}

// StackEpochPoolHot is the hot-loop form: one guard held across the loop
// and refreshed after every push+pop pair.
func StackEpochPoolHot(b *testing.B) {
	c := epoch.New()
	defer c.Close()
	s := stack.NewEpoch[int](c)
	g := c.Enter()
	defer g.Exit()
	b.ReportAllocs()
	for b.Loop() {
		s.Push(g, 1)
		s.Pop(g)
		g.Refresh()
	}
}

// StackEpochPoolHotParallel is StackEpochPoolHot with GOMAXPROCS
// goroutines, each holding its own guard.
func StackEpochPoolHotParallel(b *testing.B) {
	c := epoch.New()
	defer c.Close()
	s := stack.NewEpoch[int](c)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		g := c.Enter()
		defer g.Exit()
		for pb.Next() {
			s.Push(g, 1)
			s.Pop(g)
			g.Refresh()
		}
	})
}

// StackNoReclaim pushes and pops one preallocated node with no reclamation
// at all: the two compare-and-swaps a Treiber stack cannot avoid. It is
// only correct with one goroutine, and is shown as the lower bound for the
// StackEpochPool rows.
func StackNoReclaim(b *testing.B) {
	type node struct {
		value int
		next  *node
	}
	var head atomic.Pointer[node]
	n := &node{value: 1}
	for b.Loop() {
		n.next = head.Load()
		if !head.CompareAndSwap(n.next, n) {
			b.Fatal("uncontended CAS failed")
		}
		h := head.Load()
		if !head.CompareAndSwap(h, h.next) {
			b.Fatal("uncontended CAS failed")
		}
	}
}

// StackEpochPoolHandleParallel is StackEpochPoolHandle with GOMAXPROCS
// goroutines, each with its own Handle.
func StackEpochPoolHandleParallel(b *testing.B) {
	c := epoch.New()
	defer c.Close()
	s := stack.NewEpoch[int](c)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		h := c.Register()
		defer h.Unregister()
		for pb.Next() {
			g := h.Enter()
			s.Push(g, 1)
			s.Pop(g)
			g.Exit()
		}
	})
}
