// Package pin reaches the runtime's processor pinning, for per-P data.
package pin

import _ "unsafe" // for go:linkname

// Pin disables preemption and returns the current P's id; Unpin re-enables
// it. Between them the goroutine cannot be descheduled, so a per-P cell is
// touched by one goroutine at a time. Hold the pin for a few instructions
// only, and never block or wait for another goroutine while holding it.
// Both functions are kept linkable by the runtime (go.dev/issue/67401).
//
//go:linkname Pin runtime.procPin
func Pin() int

//go:linkname Unpin runtime.procUnpin
func Unpin()
