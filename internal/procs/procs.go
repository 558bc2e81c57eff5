// Package procs changes GOMAXPROCS in the background, for the tests of
// code that sizes itself by the number of Ps (the registry's home slots,
// the Collectors built on it): Ps then come and go, above and below the
// number that code was sized for, while it runs.
package procs

import (
	"runtime"
	"sync"
)

// Flip sets GOMAXPROCS to 1, 2, 3, 4, 1, ... on a goroutine, calling pause
// before each change, until the returned stop is called. stop waits for
// the goroutine; it leaves GOMAXPROCS as the last change set it, so a test
// restores its own value (defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(n))).
func Flip(pause func()) (stop func()) {
	done := make(chan struct{})
	var flipper sync.WaitGroup
	flipper.Go(func() {
		for i := 0; ; i++ {
			pause()
			select {
			case <-done:
				return
			default:
				runtime.GOMAXPROCS(1 + i%4)
			}
		}
	})
	return func() {
		close(done)
		flipper.Wait()
	}
}
