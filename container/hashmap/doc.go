// Package hashmap holds lock-free hash maps after M. M. Michael, "High
// Performance Dynamic Lock-Free Hash Tables and List-Based Sets", SPAA 2002:
// a fixed, power-of-two number of buckets chosen at construction, each a
// Harris-Michael sorted list of key/value nodes (the same list as package
// list). Keys are hashed with hash/maphash.Comparable under a per-map seed
// and ordered within a bucket by cmp.Compare.
//
// Get, Put and Delete are linearizable and lock-free, per bucket as in
// package list. The table never resizes: choose the bucket count for the
// expected number of keys (a load factor near 1 keeps lists short); past it
// operations slow down linearly, they do not fail.
//
// Memory model: a Put is synchronized before every Get, Put or Delete that
// returns its value, so what the writer stored before it (behind a pointer
// value, say) is visible to the reader.
//
// Put replaces a present key's node rather than its value: one
// compare-and-swap marks the old node deleted and links a new node holding
// the new value right after it. A value therefore never changes while a
// reader can see it: a concurrent Get returns the old value or the new one,
// never a torn mixture, and the key is never absent in between. The old node
// is retired like a deleted one. Values need no atomic access and may be of
// any type.
//
// GC drops unlinked nodes to the garbage collector, Epoch recycles them
// through an epoch.Pool (of a classic or a robust Collector), Hazard
// through a hazard.Pool; see package list for what each costs.
//
// Every NaN is the same key, as under cmp.Compare and in package list:
// Put of a NaN replaces the value of an earlier NaN, and Get and Delete
// find it. (Go's own maps make each NaN a new key that can never be
// found again.)
package hashmap
