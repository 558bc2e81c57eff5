package procs

import (
	"runtime"
	"testing"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

// Flip goes through the counts 1 to 4 in turn, pausing before each change,
// and its goroutine is gone once stop returns.
func TestFlip(t *testing.T) {
	defer goleak.VerifyNone(t)
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
	seen := make(chan int, 64)
	stop := Flip(func() {
		select {
		case seen <- runtime.GOMAXPROCS(0):
		default: // the first 64 are enough
		}
	})
	var got []int
	for len(got) < 8 {
		got = append(got, <-seen)
	}
	stop()
	require.Equal(t, []int{2, 1, 2, 3, 4, 1, 2, 3}, got)
}
