// Package registry holds participant records that never move.
//
// A Registry hands out Slots: records that live in buckets of doubling size,
// allocated on demand and never freed or moved while the Registry lives. A
// scan over every slot therefore needs no lock, only the bucket pointers,
// which are published with atomic stores.
//
// Ownership of a slot is reusable: Get hands a slot to one owner and Put
// takes it back for the next owner. Get first tries the current P's home
// slot (reached with runtime.procPin, internal/pin; taken with a load and
// a release store, given back by Put with one release store from any P),
// then the P's spare, then a lock-free free list, and only then grows the
// registry. GetLong, for owners that keep a slot for long, skips the home
// and spare slots. Slots are not zeroed between owners: the layers above
// keep state in them (epoch keeps its retired batches there).
//
// Happens-before: Put is synchronized before the Get that returns the same
// slot, so an owner's accesses to the slot come before the next owner's:
// it sees the previous owner's writes, and the previous owner never read
// the next owner's. Through the free list this is the Go memory model's
// (atomic compare-and-swap). Through a home slot, outside the race
// detector, it rests on the release store of internal/release (a plain
// store on amd64, whose order x86-TSO keeps, and STLR on arm64) paired
// with the taker's atomic load; through a spare, and for a home's first
// taker on its P, on the pin and on the scheduler's hand-off of the P
// between threads, as for sync.Pool. Under the race detector every one of
// these paths synchronizes in the detector's terms (atomic stores, and
// the lock internal/perp takes in race builds).
package registry
