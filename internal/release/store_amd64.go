//go:build !race

package release

import (
	"sync/atomic"
	"unsafe"
)

// On amd64 a plain store is a release store (x86-TSO never reorders a
// store with earlier loads or stores), and the compiler keeps memory
// operations in program order around it, so these are ordinary stores the
// compiler can inline.

// StoreUintptr stores v into *p with release ordering: every memory access
// before it is visible to a goroutine whose atomic load observes v.
func StoreUintptr(p *atomic.Uintptr, v uintptr) { *(*uintptr)(unsafe.Pointer(p)) = v }

// StoreUint64 stores v into *p with release ordering, like StoreUintptr.
func StoreUint64(p *atomic.Uint64, v uint64) { *(*uint64)(unsafe.Pointer(p)) = v }
