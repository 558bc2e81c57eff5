//go:build race

package yield

import (
	"math/rand/v2"
	"runtime"
)

// Enabled is true under the race detector: Point yields.
const Enabled = true

// Hook, when not nil, runs at each Point instead of the random yield. It is
// for tests only: a test sets it to take another goroutine's steps (an
// unlink, a retire, a reclamation) itself, synchronously, in a chosen
// window, which makes an interleaving that the random yields find only by
// luck deterministic. It is a plain variable, so set and restore it only
// while no other goroutine can reach a Point (the race detector reports a
// test that does not); it exists only under the race detector, where
// Enabled makes the containers call Point.
var Hook func()

// Point calls Hook if set, and otherwise yields with probability 1/8.
func Point() {
	if Hook != nil {
		Hook()
		return
	}
	if rand.Uint32()&7 == 0 {
		runtime.Gosched()
	}
}
