// Package registry holds participant records that never move.
//
// A Registry hands out Slots: records that live in buckets of doubling size,
// allocated on demand and never freed or moved while the Registry lives. A
// scan over every slot therefore needs no lock, only the bucket pointers,
// which are published with atomic stores.
//
// Ownership of a slot is reusable: Get hands a slot to one owner and Put
// takes it back for the next owner. Get first tries the current P's home
// slot (reached with runtime.procPin, internal/pin: a load and a plain
// store, and Put gives it back with one release store from any P), then a
// lock-free free list, and only then grows the registry. GetLong, for
// owners that keep a slot for long, skips the home slots. Slots are not
// zeroed between owners: the layers above keep state in them (epoch keeps
// its retired batches there).
//
// Happens-before: Put is synchronized before the Get that returns the same
// slot, so an owner's writes to the slot are visible to the next owner.
package registry
