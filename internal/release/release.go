// Package release is a store with release ordering only, which sync/atomic
// does not offer: every atomic.Store there is sequentially consistent, an
// XCHG on amd64. A hazard pointer's reset needs only release (the reader's
// accesses to the object must happen before the reset is seen), and on
// amd64 and arm64 a plain MOV or an STLR gives exactly that at a fraction of
// the cost.
//
// Under the race detector, and on other architectures, StoreUintptr and
// StoreUint64 are the atomic types' Store, so the detector sees the synchronization.
package release
