package stack_test

import (
	"fmt"

	"github.com/go-reclaim/reclaim/container/stack"
	"github.com/go-reclaim/reclaim/epoch"
	"github.com/go-reclaim/reclaim/hazard"
)

func ExampleGC() {
	var s stack.GC[string]
	s.Push("a")
	s.Push("b")
	v, _ := s.Pop()
	fmt.Println(v)
	// Output: b
}

func ExampleEpoch() {
	c := epoch.New()
	s := stack.NewEpoch[string](c)
	g := c.Enter()
	s.Push(g, "a")
	s.Push(g, "b")
	v, _ := s.Pop(g) // the node goes back to the pool after a grace period
	g.Exit()
	fmt.Println(v, c.Close())
	// Output: b <nil>
}

func ExampleHazard() {
	d := hazard.New()
	s := stack.NewHazard[string](d)
	s.Push("a")
	s.Push("b")
	hp := d.Acquire()
	v, _ := s.Pop(hp)
	hp.Release()
	fmt.Println(v, d.Close())
	// Output: b <nil>
}

// On a robust collector a goroutine descheduled inside a guard no longer
// holds back every node retired meanwhile; the stack needs nothing else.
func ExampleEpoch_robust() {
	c := epoch.New(epoch.WithRobust())
	s := stack.NewEpoch[string](c)
	g := c.Enter()
	s.Push(g, "a")
	s.Push(g, "b")
	v, _ := s.Pop(g)
	g.Exit()
	fmt.Println(v, c.Robust(), c.Close())
	// Output: b true <nil>
}
