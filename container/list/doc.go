// Package list holds lock-free sorted linked lists used as sets: the
// Harris-Michael list (T. L. Harris, "A Pragmatic Implementation of
// Non-Blocking Linked-Lists", DISC 2001; M. M. Michael, "High Performance
// Dynamic Lock-Free Hash Tables and List-Based Sets", SPAA 2002).
//
// Insert, Delete and Contains are linearizable and lock-free: a goroutine
// retries only when another has changed the list, so some operation always
// completes. A delete first marks the node's next link (the linearization
// point), then unlinks it; any operation that passes a marked node unlinks
// it, and whoever unlinks a node retires it; so Contains, like Michael's
// Search, may write. Keys are ordered by cmp.Compare, so all NaNs are one
// key.
//
// Memory model: an Insert or Delete that takes effect is synchronized before
// every operation whose result it determines (a Contains that finds the key,
// an Insert that finds it present, a Delete that removes it).
//
// GC drops deleted nodes to the garbage collector, the plain Go baseline.
// Epoch recycles them through an epoch.Pool: a node is reused only after
// every guard that could have read it has exited. Hazard protects each node
// it visits with hazard pointers, hand over hand, restarting from the head
// when a node it is about to enter has changed or was deleted, and recycles
// nodes through a hazard.Pool; memory stays bounded whatever readers do.
// Epoch on a robust Collector (epoch.WithRobust) protects the same way, by
// reserving eras instead of publishing addresses, and its memory is
// bounded too; on a classic one it only loads.
package list
