// Package yield marks the windows in the containers' algorithms where a
// goroutine holds a pointer it has loaded but not yet validated or used in
// a compare-and-swap: the places where another goroutine's interleaving
// exposes a reclamation bug (a node retired, reclaimed and reused between
// the load and the step that relies on it).
//
// Under the race detector, Point yields the processor now and then, so
// that the containers' own -race tests (and package stress) explore those
// interleavings in seconds instead of by luck; otherwise it does nothing.
//
// Call it as
//
//	if yield.Enabled {
//		yield.Point()
//	}
//
// The constant, not the empty function, is what removes the call: the
// containers' algorithms are generic, and an instantiation compiled in
// another package did not inline Point (measured: a call per node visited,
// 8.7% of the hazard list's Contains).
package yield
