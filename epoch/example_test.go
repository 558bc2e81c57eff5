package epoch_test

import (
	"context"
	"fmt"
	"sync/atomic"

	"github.com/go-reclaim/reclaim/epoch"
)

type config struct {
	name string
}

// An RCU-style snapshot: readers load the current config under a guard;
// the writer swaps it and retires the old one, whose free function runs only
// after every reader that could still see it has exited.
func Example() {
	c := epoch.New()
	var current atomic.Pointer[config]
	current.Store(&config{name: "v1"})

	// Reader.
	g := c.Enter()
	cfg := epoch.Load(g, &current)
	fmt.Println("reading", cfg.name)

	// The writer (on the same goroutine here, for a deterministic output):
	// swap in v2 and retire v1.
	w := c.Enter()
	old := current.Swap(&config{name: "v2"})
	epoch.Retire(w, old, func(c *config) { fmt.Println("closing", c.name) })
	w.Exit()

	fmt.Println("still reading", cfg.name) // v1 is not closed yet
	g.Exit()

	if err := c.Barrier(context.Background()); err != nil {
		panic(err)
	}
	if err := c.Close(); err != nil {
		panic(err)
	}
	// Output:
	// reading v1
	// still reading v1
	// closing v1
}

// A Pool recycles nodes only after a grace period, so a lock-free structure
// can reuse them without ABA.
func ExamplePool() {
	c := epoch.New()
	pool := epoch.NewPool[item](c)
	var head atomic.Pointer[item]

	g := c.Enter()
	n := pool.Get(g)
	n.value = 42
	head.Store(n)
	g.Exit()

	g = c.Enter()
	if top := epoch.Load(g, &head); head.CompareAndSwap(top, nil) {
		fmt.Println("popped", top.value)
		pool.Retire(g, top) // Get hands it out again after a grace period
	}
	g.Exit()
	fmt.Println(c.Close(), c.Stats().Pending)
	// Output:
	// popped 42
	// <nil> 0
}

type link struct {
	value int
	next  atomic.Pointer[link]
}

// A traversal on a robust Collector checks each load against its guard's
// reservation. Guard.Reservation reads the reservation once, so that each
// check costs two loads; when it is not current, Reserve raises it, and
// the link is loaded again. (This chain never loses a node; in one that
// unlinks nodes, see Reserve for what the load must also show.)
func ExampleGuard_Reservation() {
	c := epoch.New(epoch.WithRobust())
	pool := epoch.NewPool[link](c)
	var head atomic.Pointer[link]
	g := c.Enter()
	for v := range 4 { // push 0..3 at the front
		n := pool.Get(g)
		n.value = v
		n.next.Store(head.Load())
		head.Store(n)
	}
	g.Exit()

	g = c.Enter()
	r := g.Reservation()
	sum := 0
	for n := epoch.Load(g, &head); n != nil; {
		sum += n.value
		next := n.next.Load()
		for !(r.Current() || g.Reserve()) {
			next = n.next.Load() // the reservation grew: load again
		}
		n = next
	}
	g.Exit()
	fmt.Println(sum, c.Close())
	// Output: 6 <nil>
}

// A Handle keeps its participant slot across guards, for hot loops.
func ExampleHandle() {
	c := epoch.New()
	h := c.Register()
	for range 3 {
		g := h.Enter()
		// ... loads under g ...
		g.Exit()
	}
	h.Unregister()
	fmt.Println(c.Close())
	// Output: <nil>
}

// Refresh lets the epoch advance during a long traversal without giving
// the slot back.
func ExampleGuard_Refresh() {
	c := epoch.New()
	var current atomic.Pointer[config]
	current.Store(&config{name: "v1"})
	g := c.Enter() // a long-running reader
	fmt.Println("reading", epoch.Load(g, &current).name)

	w := c.Enter() // a writer
	epoch.Retire(w, current.Swap(&config{name: "v2"}), func(c *config) { fmt.Println("closing", c.name) })
	w.Exit()
	c.Flush() // g may still hold v1: not closed
	fmt.Println("flushed")

	g.Refresh() // g drops what it loaded before (v1), and stays entered
	c.Flush()
	fmt.Println("reading", epoch.Load(g, &current).name)
	g.Exit()
	if err := c.Close(); err != nil {
		panic(err)
	}
	// Output:
	// reading v1
	// flushed
	// closing v1
	// reading v2
}

// Stats reports the open guards and, with WithGuardTracking, the stack
// that entered the oldest one, which holds reclamation back.
func ExampleCollector_Stats() {
	c := epoch.New(epoch.WithGuardTracking())
	stalled := c.Enter()
	st := c.Stats()
	fmt.Println(st.Guards, st.OldestGuardStack != "")
	stalled.Exit()
	fmt.Println(c.Close())
	// Output:
	// 1 true
	// <nil>
}
