package marked_test

import (
	"fmt"

	"github.com/go-reclaim/reclaim/container/marked"
	"github.com/go-reclaim/reclaim/epoch"
)

type item struct {
	val  int
	next marked.Pointer[item] // marked: this item is deleted
}

// sum adds up the values of the list at head under g, a guard of a robust
// collector. Each link is reserved and validated before the item it leads
// to is read; a changed or marked link means the items may already be
// unlinked, so the traversal starts again, as in a Harris-Michael list.
func sum(g *epoch.Guard, head *marked.Pointer[item]) int {
retry:
	total := 0
	for src := head; ; {
		p, deleted := src.Load()
		if deleted || !src.TryReserve(g, p) {
			goto retry
		}
		if p == nil {
			return total
		}
		total += p.val // safe: p is reserved and was reachable
		src = &p.next
	}
}

func ExamplePointer_TryReserve() {
	c := epoch.New(epoch.WithRobust())
	items := epoch.NewPool[item](c)
	var head marked.Pointer[item]
	g := c.Enter()
	for v := range 4 { // push 0..3 at the front
		x := items.Get(g)
		x.val = v
		first, _ := head.Load()
		x.next.Store(first, false)
		head.Store(x, false)
	}
	fmt.Println(sum(g, &head))
	g.Exit()
	fmt.Println(c.Close())
	// Output:
	// 6
	// <nil>
}
