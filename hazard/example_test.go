package hazard_test

import (
	"fmt"
	"sync/atomic"

	"github.com/go-reclaim/reclaim/hazard"
)

type config struct{ name string }

// A reader protects the current config; the writer swaps it and retires
// the old one, which is reclaimed only once the reader resets its
// protection.
func Example() {
	d := hazard.New()
	var current atomic.Pointer[config]
	current.Store(&config{name: "v1"})

	hp := d.Acquire()
	cfg := hazard.Protect(hp, &current)
	fmt.Println("reading", cfg.name)

	// The writer, here on the same goroutine for a deterministic output.
	old := current.Swap(&config{name: "v2"})
	hazard.Retire(d, old, func(c *config) { fmt.Println("closing", c.name) })
	d.Flush() // reclaims what no hazard pointer protects: not v1
	fmt.Println("pending", d.Stats().Pending)

	fmt.Println("still reading", cfg.name)
	hp.Release()
	d.Flush() // now v1 is reclaimed
	if err := d.Close(); err != nil {
		panic(err)
	}
	// Output:
	// reading v1
	// pending 1
	// still reading v1
	// closing v1
}

type node struct {
	value int
	next  atomic.Pointer[node]
}

// An Array holds several protections at once, as a hand-over-hand
// traversal of a linked list needs. Protecting n's successor through
// &n.next is safe here because no node is ever unlinked; in a list whose
// nodes are removed, a removed node's next field may lead to a node
// already retired, and the traversal must validate that n is still linked
// (a marked link, see container/marked's TryProtect) before it trusts the
// successor.
func ExampleArray() {
	d := hazard.New()
	var head atomic.Pointer[node]
	for i := 3; i > 0; i-- {
		n := &node{value: i}
		n.next.Store(head.Load())
		head.Store(n)
	}

	hps := d.AcquireArray(2)
	prev, cur := hps.At(0), hps.At(1)
	var values []int
	for n := hazard.Protect(cur, &head); n != nil; {
		values = append(values, n.value)
		prev, cur = cur, prev // n stays protected by prev while we protect its successor
		n = hazard.Protect(cur, &n.next)
	}
	fmt.Println(values)
	hps.Release()
	fmt.Println(d.Close())
	// Output:
	// [1 2 3]
	// <nil>
}

type stackNode struct {
	value int
	next  *stackNode
}

// A Treiber stack that recycles its nodes through a Pool: a popped node is
// retired, and Get hands it out again only once no hazard pointer protects
// it, so the pop's compare-and-swap cannot suffer ABA.
func ExamplePool() {
	d := hazard.New()
	pool := hazard.NewPool[stackNode](d)
	var head atomic.Pointer[stackNode]

	push := func(v int) {
		n := pool.Get() // zeroed, recycled or new
		n.value = v
		for {
			n.next = head.Load()
			if head.CompareAndSwap(n.next, n) {
				return
			}
		}
	}
	pop := func(hp *hazard.Pointer) (int, bool) {
		defer hp.Reset()
		for {
			n := hazard.Protect(hp, &head)
			if n == nil {
				return 0, false
			}
			if head.CompareAndSwap(n, n.next) { // n.next is safe to read: n is protected
				v := n.value
				pool.Retire(n)
				return v, true
			}
		}
	}

	hp := d.Acquire()
	for i := range 3 {
		push(i)
	}
	for v, ok := pop(hp); ok; v, ok = pop(hp) {
		fmt.Println(v)
	}
	hp.Release()
	if err := d.Close(); err != nil {
		panic(err)
	}
	// Output:
	// 2
	// 1
	// 0
}

// Flush releases a swapped-out object at once when no reader holds it, as
// arc-swap does on store, and leaves a protected one for later.
func ExampleDomain_Flush() {
	d := hazard.New(hazard.WithMaxBatchAge(0)) // no timer: only the calls below reclaim, in this order
	var current atomic.Pointer[config]
	current.Store(&config{name: "v1"})
	closing := func(c *config) { fmt.Println("closing", c.name) }

	hazard.Retire(d, current.Swap(&config{name: "v2"}), closing)
	d.Flush() // nobody protects v1
	fmt.Println("flushed once")

	hp := d.Acquire()
	cfg := hazard.Protect(hp, &current)
	hazard.Retire(d, current.Swap(&config{name: "v3"}), closing)
	d.Flush() // v2 is protected: it stays pending, and Flush does not wait
	fmt.Println("still reading", cfg.name, "- pending:", d.Stats().Pending)
	hp.Release()
	d.Flush()
	if err := d.Close(); err != nil {
		panic(err)
	}
	// Output:
	// closing v1
	// flushed once
	// still reading v2 - pending: 1
	// closing v2
}

// A writer replaces a configuration and releases the old one at once
// unless a reader still holds it.
func ExampleReclaim() {
	d := hazard.New(hazard.WithMaxBatchAge(0))
	var current atomic.Pointer[config]
	current.Store(&config{name: "v1"})
	closing := func(c *config) { fmt.Println("closing", c.name) }

	fmt.Println("freed at once:", hazard.Reclaim(d, current.Swap(&config{name: "v2"}), closing))

	hp := d.Acquire()
	cfg := hazard.Protect(hp, &current)
	fmt.Println("freed at once:", hazard.Reclaim(d, current.Swap(&config{name: "v3"}), closing))
	fmt.Println("still reading", cfg.name)
	hp.Release()
	d.Flush() // v2 was retired: reclaimed once nobody protects it
	if err := d.Close(); err != nil {
		panic(err)
	}
	// Output:
	// closing v1
	// freed at once: true
	// freed at once: false
	// still reading v2
	// closing v2
}

// OnReclaim sees each node before the Pool zeroes it for reuse.
func ExampleOnReclaim() {
	d := hazard.New(hazard.WithMaxBatchAge(0))
	pool := hazard.NewPool(d, hazard.OnReclaim(func(n *stackNode) {
		fmt.Println("reclaiming node", n.value)
	}))
	n := pool.Get()
	n.value = 7
	pool.Retire(n)
	d.Flush()
	fmt.Println("reused, zeroed:", pool.Get().value)
	if err := d.Close(); err != nil {
		panic(err)
	}
	// Output:
	// reclaiming node 7
	// reused, zeroed: 0
}
