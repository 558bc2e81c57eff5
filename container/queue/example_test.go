package queue_test

import (
	"fmt"

	"github.com/go-reclaim/reclaim/container/queue"
	"github.com/go-reclaim/reclaim/epoch"
	"github.com/go-reclaim/reclaim/hazard"
)

func ExampleGC() {
	var q queue.GC[string]
	q.Enqueue("a")
	q.Enqueue("b")
	v, _ := q.Dequeue()
	fmt.Println(v)
	// Output: a
}

func ExampleEpoch() {
	c := epoch.New()
	q := queue.NewEpoch[string](c)
	g := c.Enter()
	q.Enqueue(g, "a")
	q.Enqueue(g, "b")
	v, _ := q.Dequeue(g) // the old dummy node goes back to the pool after a grace period
	g.Exit()
	fmt.Println(v, c.Close())
	// Output: a <nil>
}

func ExampleHazard() {
	d := hazard.New()
	q := queue.NewHazard[string](d)
	hp := d.AcquireArray(queue.HazardPointers) // once per goroutine, for many operations
	q.Enqueue(hp, "a")
	q.Enqueue(hp, "b")
	v, _ := q.Dequeue(hp)
	hp.Release()
	fmt.Println(v, d.Close())
	// Output: a <nil>
}

// On a robust collector the queue reserves each node it dereferences
// (see Epoch); the calls are the same.
func ExampleEpoch_robust() {
	c := epoch.New(epoch.WithRobust())
	q := queue.NewEpoch[string](c)
	g := c.Enter()
	q.Enqueue(g, "a")
	q.Enqueue(g, "b")
	v, _ := q.Dequeue(g)
	g.Exit()
	fmt.Println(v, c.Close())
	// Output: a <nil>
}
