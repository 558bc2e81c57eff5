package offheap_test

import (
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/go-reclaim/reclaim/epoch"
	"github.com/go-reclaim/reclaim/offheap"
)

type entry struct {
	Key, Value uint64
	Hits       uint32
}

// A writer publishes a value by its handle, a reader resolves it under a
// guard without copying, and the writer replaces it: the old slot is reused
// only after the reader's guard exits.
func Example() {
	c := epoch.New()
	defer c.Close()
	s, err := offheap.NewSlab[entry](c, 1024)
	if err != nil {
		panic(err)
	}
	defer s.Close()

	var current atomic.Uint64 // the published handle
	h, e, _ := s.Alloc()
	*e = entry{Key: 1, Value: 100}
	current.Store(uint64(h))

	g := c.Enter() // reader
	v, _ := s.Get(g, offheap.Handle(current.Load()))

	h2, e2, _ := s.Alloc() // writer replaces the value
	*e2 = entry{Key: 1, Value: 200}
	old := offheap.Handle(current.Swap(uint64(h2)))
	wg := c.Enter()
	_ = s.Free(wg, old)
	wg.Exit()

	fmt.Println("reader still sees", v.Value) // old slot not reused yet
	g.Exit()

	_, err = get(c, s, old)
	fmt.Println("old handle:", errors.Is(err, offheap.ErrStale))
	nv, _ := get(c, s, offheap.Handle(current.Load()))
	fmt.Println("new value:", nv.Value)
	_ = free(c, s, h2)
	// Output:
	// reader still sees 100
	// old handle: true
	// new value: 200
}

// A type holding Go pointers is refused: the GC would not see them.
func ExampleNewSlab_pointers() {
	type bad struct {
		ID   uint64
		Name string
	}
	c := epoch.New()
	defer c.Close()
	_, err := offheap.NewSlab[bad](c, 16)
	fmt.Println(err)
	// Output:
	// offheap: element type contains Go pointers: offheap_test.bad.Name is a string; store an index or a Handle instead
}

// Checked mode reports a use after free with the stacks of the allocation,
// of the free and of the use, and leaks at Close.
func ExampleWithChecks() {
	c := epoch.New()
	defer c.Close()
	s, _ := offheap.NewSlab[entry](c, 16, offheap.WithChecks())

	h, _, _ := s.Alloc()
	g := c.Enter()
	_ = s.Free(g, h)
	_, err := s.Get(g, h)
	g.Exit()
	var me *offheap.MisuseError
	if errors.As(err, &me) {
		fmt.Println(errors.Is(err, offheap.ErrStale), me.FreedAt != "", me.UsedAt != "")
	}

	_, _, _ = s.Alloc() // never freed
	err = s.Close()
	var le *offheap.LeakError
	if errors.As(err, &le) {
		fmt.Println(errors.Is(err, offheap.ErrLeaked), len(le.Leaks), le.Leaks[0].AllocatedAt != "")
	}
	// Output:
	// true true true
	// true 1 true
}
