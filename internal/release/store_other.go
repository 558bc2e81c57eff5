//go:build race || !(amd64 || arm64)

package release

import "sync/atomic"

// StoreUintptr stores v into *p with (at least) release ordering.
func StoreUintptr(p *atomic.Uintptr, v uintptr) { p.Store(v) }

// StoreUint64 stores v into *p with (at least) release ordering.
func StoreUint64(p *atomic.Uint64, v uint64) { p.Store(v) }
