package poison_test

import (
	"fmt"

	"github.com/go-reclaim/reclaim/stress/poison"
)

// A node type embeds a Canary; its free function poisons it, so that a
// reader still holding the node after its grace period can tell.
type entry struct {
	poison.Canary
	value int
}

func Example() {
	n := &entry{value: 42}
	fmt.Println("fresh entry poisoned:", n.Poisoned())

	free := func(n *entry) { n.Poison() } // what the reclamation scheme runs
	free(n)
	fmt.Println("reclaimed entry poisoned:", n.Poisoned())

	// Output:
	// fresh entry poisoned: false
	// reclaimed entry poisoned: true
}

// Byte buffers are poisoned in place: a value read from a recycled buffer
// shows the pattern instead of plausible data.
func ExampleBytes() {
	buf := []byte("a value of 16 b.")
	fmt.Println(poison.InBytes(buf))
	poison.Bytes(buf)
	fmt.Println(poison.InBytes(buf), buf[0] == poison.Byte)

	// Output:
	// false
	// true true
}
