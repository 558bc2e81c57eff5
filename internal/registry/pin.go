package registry

import _ "unsafe" // for go:linkname

// procPin disables preemption and returns the current P's id; procUnpin
// re-enables it. Both are kept linkable by the runtime (go.dev/issue/67401).
// Between them the goroutine cannot be descheduled, so a per-P cell is
// touched by one goroutine at a time; callers hold the pin for a few
// instructions only.
//
//go:linkname procPin runtime.procPin
func procPin() int

//go:linkname procUnpin runtime.procUnpin
func procUnpin()
