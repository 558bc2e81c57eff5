package hashmap_test

import (
	"fmt"

	"github.com/go-reclaim/reclaim/container/hashmap"
	"github.com/go-reclaim/reclaim/epoch"
	"github.com/go-reclaim/reclaim/hazard"
)

func ExampleGC() {
	m := hashmap.NewGC[string, int](64)
	m.Put("a", 1)
	old, replaced := m.Put("a", 2)
	v, ok := m.Get("a")
	fmt.Println(old, replaced, v, ok)
	// Output: 1 true 2 true
}

func ExampleEpoch() {
	c := epoch.New()
	m := hashmap.NewEpoch[string, int](c, 64)
	g := c.Enter()
	m.Put(g, "a", 1)
	m.Put(g, "b", 2)
	old, deleted := m.Delete(g, "a") // its node goes back to the pool after a grace period
	_, ok := m.Get(g, "a")
	g.Exit()
	fmt.Println(old, deleted, ok, c.Close())
	// Output: 1 true false <nil>
}

func ExampleHazard() {
	d := hazard.New()
	m := hashmap.NewHazard[string, int](d, 64)
	hp := d.AcquireArray(hashmap.HazardPointers) // once per goroutine, for many operations
	m.Put(hp, "a", 1)
	m.Put(hp, "a", 2) // the replaced node is retired to d
	v, ok := m.Get(hp, "a")
	hp.Release()
	fmt.Println(v, ok, d.Close())
	// Output: 2 true <nil>
}

// On a robust collector the map's buckets reserve and validate each node
// they enter (see package list); the calls are the same.
func ExampleEpoch_robust() {
	c := epoch.New(epoch.WithRobust())
	m := hashmap.NewEpoch[string, int](c, 64)
	g := c.Enter()
	m.Put(g, "a", 1)
	old, replaced := m.Put(g, "a", 2) // the old node is retired
	v, ok := m.Get(g, "a")
	g.Exit()
	fmt.Println(old, replaced, v, ok, c.Close())
	// Output: 1 true 2 true <nil>
}
