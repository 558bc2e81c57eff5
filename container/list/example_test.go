package list_test

import (
	"fmt"

	"github.com/go-reclaim/reclaim/container/list"
	"github.com/go-reclaim/reclaim/epoch"
	"github.com/go-reclaim/reclaim/hazard"
)

func ExampleGC() {
	var s list.GC[string]
	fmt.Println(s.Insert("b"), s.Insert("a"), s.Insert("b"))
	fmt.Println(s.Delete("b"), s.Contains("a"), s.Contains("b"))
	// Output:
	// true true false
	// true true false
}

func ExampleEpoch() {
	c := epoch.New()
	s := list.NewEpoch[int](c)
	g := c.Enter()
	s.Insert(g, 2)
	s.Insert(g, 1)
	fmt.Println(s.Delete(g, 2), s.Contains(g, 1), s.Contains(g, 2))
	g.Exit() // the deleted node goes back to the pool after a grace period
	fmt.Println(c.Close())
	// Output:
	// true true false
	// <nil>
}

func ExampleHazard() {
	d := hazard.New()
	s := list.NewHazard[int](d)
	hp := d.AcquireArray(list.HazardPointers) // once per goroutine, for many operations
	s.Insert(hp, 2)
	s.Insert(hp, 1)
	fmt.Println(s.Delete(hp, 2), s.Contains(hp, 1), s.Contains(hp, 2))
	hp.Release()
	fmt.Println(d.Close())
	// Output:
	// true true false
	// <nil>
}

// On a robust collector the set reserves and validates each node it
// enters, as Hazard does with hazard pointers; the calls are the same, and
// a goroutine stalled inside a guard holds back only the nodes it reached.
func ExampleEpoch_robust() {
	c := epoch.New(epoch.WithRobust())
	s := list.NewEpoch[int](c)
	g := c.Enter()
	s.Insert(g, 2)
	s.Insert(g, 1)
	fmt.Println(s.Delete(g, 2), s.Contains(g, 1), s.Contains(g, 2))
	g.Exit()
	fmt.Println(c.Close())
	// Output:
	// true true false
	// <nil>
}
