//go:build race

// Package race reports whether the binary was built with the race
// detector, for the code that trades speed for checking under it.
package race

// Enabled is true in a binary built with -race.
const Enabled = true
