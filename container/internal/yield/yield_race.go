//go:build race

package yield

import (
	"math/rand/v2"
	"runtime"
)

// Enabled is true under the race detector: Point yields.
const Enabled = true

// Point yields with probability 1/8.
func Point() {
	if rand.Uint32()&7 == 0 {
		runtime.Gosched()
	}
}
