//go:build !race

package yield

// Enabled is false without the race detector: the compiler drops the
// guarded calls.
const Enabled = false

// Point does nothing without the race detector.
func Point() {}
