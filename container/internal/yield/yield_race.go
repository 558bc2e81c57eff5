//go:build race

package yield

import (
	"math/rand/v2"
	"runtime"
)

// Point yields with probability 1/8.
func Point() {
	if rand.Uint32()&7 == 0 {
		runtime.Gosched()
	}
}
