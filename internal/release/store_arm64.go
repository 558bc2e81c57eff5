//go:build !race

package release

import (
	"sync/atomic"
	"unsafe"
)

// StoreUintptr stores v into *p with release ordering: every memory access
// before it is visible to a goroutine whose atomic load observes v.
func StoreUintptr(p *atomic.Uintptr, v uintptr) {
	storeRelease((*uintptr)(unsafe.Pointer(p)), v)
}

//go:noescape
func storeRelease(addr *uintptr, v uintptr)

// StoreUint64 stores v into *p with release ordering, like StoreUintptr.
func StoreUint64(p *atomic.Uint64, v uint64) {
	storeRelease64((*uint64)(unsafe.Pointer(p)), v)
}

//go:noescape
func storeRelease64(addr *uint64, v uint64)
