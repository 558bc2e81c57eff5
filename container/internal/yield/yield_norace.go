//go:build !race

package yield

// Point does nothing without the race detector.
func Point() {}
