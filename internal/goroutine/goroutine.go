// Package goroutine identifies the running goroutine cheaply, so that the
// library can tell when a goroutine is about to wait for itself (a free
// function that calls Close or Barrier while its own goroutine holds the
// sweep those calls wait for).
package goroutine

// ID identifies the calling goroutine among the goroutines alive at the
// same moment: two goroutines that run at the same time never share an ID,
// but an exited goroutine's ID may be reused. It is the address of the
// runtime's goroutine record, read in a few instructions. On platforms
// without an implementation it is 0 (unknown) for every goroutine.
type ID uintptr

// Current returns the calling goroutine's ID.
func Current() ID { return ID(getg()) }
