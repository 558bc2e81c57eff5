package refcount_test

import (
	"fmt"
	"sync"

	"github.com/go-reclaim/reclaim/refcount"
)

type conn struct{ name string }

func (c *conn) Close() { fmt.Println("closed", c.name) }

// An Arc shares a resource between goroutines and closes it when the last
// handle is released, on the goroutine that released it.
func ExampleArc() {
	a := refcount.NewArc(conn{name: "db"}, (*conn).Close)
	var wg sync.WaitGroup
	for range 3 {
		h := a.Clone() // one handle per goroutine
		wg.Go(func() {
			defer h.Release()
			_ = h.Value().name
		})
	}
	wg.Wait()
	fmt.Println("strong handles:", a.StrongCount())
	a.Release() // the last one: Close runs here
	// Output:
	// strong handles: 1
	// closed db
}

// A Weak handle does not keep the value alive; Upgrade fails once it is gone.
func ExampleWeak() {
	a := refcount.NewArc(conn{name: "cache"}, (*conn).Close)
	w := a.Downgrade()
	defer w.Release()

	if s, ok := w.Upgrade(); ok {
		fmt.Println("upgraded:", s.Value().name)
		s.Release()
	}
	a.Release()
	_, ok := w.Upgrade()
	fmt.Println("upgrade after the last release:", ok)
	// Output:
	// upgraded: cache
	// closed cache
	// upgrade after the last release: false
}

// Rc is Arc for values used by one goroutine: plain counts, same API.
func ExampleRc() {
	r := refcount.NewRc([]string{"a", "b"}, func(s *[]string) { fmt.Println("destroyed", len(*s), "items") })
	c := r.Clone()
	r.Release()
	fmt.Println("strong:", c.StrongCount())
	c.Release()
	// Output:
	// strong: 1
	// destroyed 2 items
}

type config struct {
	version int
}

// An AtomicArc publishes a configuration that readers load while a writer
// replaces it; each old version is closed once its last reader is done,
// or by the Store that replaces it if no reader holds it. (The destructor
// reports on a channel: it runs on whichever goroutine releases the last
// reference, which may be the hazard domain's aging timer.)
func ExampleAtomicArc() {
	closed := make(chan int, 3)
	closeConfig := func(c *config) { closed <- c.version }
	var current refcount.AtomicArc[config]
	current.Store(refcount.NewArc(config{version: 1}, closeConfig))

	// A reader that keeps the configuration for a while takes a handle.
	held := current.Load()

	// The writer replaces it; version 1 stays alive for the reader.
	current.Store(refcount.NewArc(config{version: 2}, closeConfig))
	fmt.Println("reader still has version", held.Value().version)
	held.Release() // the last reference: version 1 is closed here
	fmt.Println("closed version", <-closed)

	// No reader holds version 2: the Store that replaces it closes it.
	current.Store(refcount.NewArc(config{version: 3}, closeConfig))
	fmt.Println("closed version", <-closed)
	current.Store(refcount.Arc[config]{}) // empty the slot
	fmt.Println("closed version", <-closed)
	// Output:
	// reader still has version 1
	// closed version 1
	// closed version 2
	// closed version 3
}

// Borrow reads the current value without touching its count: the cheapest
// read, for short critical sections.
func ExampleAtomicArc_Borrow() {
	current := refcount.NewAtomicArc(refcount.NewArc(config{version: 7}, nil))
	defer current.Store(refcount.Arc[config]{})

	g := current.Borrow()
	fmt.Println("version", g.Value().version)
	g.Release()
	// Output:
	// version 7
}

// CompareAndSwap updates the value from the one a reader loaded, retrying
// if another writer got there first.
func ExampleAtomicArc_CompareAndSwap() {
	current := refcount.NewAtomicArc(refcount.NewArc(config{version: 1}, nil))
	defer current.Store(refcount.Arc[config]{})

	for {
		old := current.Load()
		next := refcount.NewArc(config{version: old.Value().version + 1}, nil)
		swapped := current.CompareAndSwap(old, next) // takes next either way
		old.Release()
		if swapped {
			break
		}
	}
	g := current.Borrow()
	defer g.Release()
	fmt.Println("version", g.Value().version)
	// Output:
	// version 2
}

// RCU is the CompareAndSwap loop above in one call: update computes the new
// value from the current one, and runs again if another writer got there
// first (the Arc it made for the lost attempt is released). RCU returns the
// value it replaced, for the caller to release.
func ExampleAtomicArc_RCU() {
	current := refcount.NewAtomicArc(refcount.NewArc(config{version: 1}, nil))
	defer current.Store(refcount.Arc[config]{})

	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			old := current.RCU(func(c *config) refcount.Arc[config] {
				next := *c // copy, change the copy, publish it
				next.version++
				return refcount.NewArc(next, nil)
			})
			old.Release()
		})
	}
	wg.Wait()
	g := current.Borrow()
	defer g.Release()
	fmt.Println("version", g.Value().version)
	// Output:
	// version 5
}

// With tracking on, Find lists the handles that were never released, with
// the stack where each was made.
func ExampleFind() {
	was := refcount.SetTracking(true)
	defer refcount.SetTracking(was)

	a := refcount.NewArc(1, nil)
	leaked := a.Clone()
	a.Release()
	fmt.Println(refcount.Find() != nil)
	leaked.Release()
	fmt.Println(refcount.Find())
	// Output:
	// true
	// <nil>
}
