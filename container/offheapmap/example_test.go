package offheapmap_test

import (
	"fmt"

	"github.com/go-reclaim/reclaim/container/offheapmap"
	"github.com/go-reclaim/reclaim/epoch"
)

// Route is a pointer-free value: it can live off the heap.
type Route struct {
	NextHop [4]byte
	Metric  uint32
}

func Example() {
	c := epoch.New()
	defer c.Close()
	routes, err := offheapmap.New[uint32, Route](c, 1_000_000)
	if err != nil {
		panic(err)
	}
	defer routes.Close()

	g := c.Enter()
	routes.Store(g, 0x0a000000, Route{NextHop: [4]byte{192, 168, 0, 1}, Metric: 10})
	if r, ok := routes.Load(g, 0x0a000000); ok {
		fmt.Println(r.NextHop, r.Metric) // read in place, valid until g.Exit
	}
	g.Exit()
	fmt.Println(routes.Len())
	// Output:
	// [192 168 0 1] 10
	// 1
}
