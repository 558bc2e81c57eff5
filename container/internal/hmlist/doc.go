// Package hmlist is the Harris-Michael lock-free sorted linked list shared by
// package list (a set) and package hashmap (its buckets): T. L. Harris, "A
// Pragmatic Implementation of Non-Blocking Linked-Lists", DISC 2001, with the
// Find of M. M. Michael, "High Performance Dynamic Lock-Free Hash Tables and
// List-Based Sets", SPAA 2002, which unlinks every marked node it passes so
// that it also works with hazard pointers.
//
// A node is deleted in two steps: marking its next field (the logical
// deletion, the linearization point) and unlinking it from its predecessor,
// which whoever wins that compare-and-swap then retires. A replacement
// (Put on a present key) marks the old node and links the new one after it
// in the same compare-and-swap, so the key is never absent.
//
// One algorithm serves every reclamation scheme, chosen by the Op an
// operation runs with: the garbage collector, an epoch guard (nodes
// recycled through epoch.Pool) or two hazard pointers. A guard of a robust
// Collector (epoch.WithRobust) protects only the nodes its reservation
// covers, so it protects as hazard pointers do, below, with
// marked.Pointer.TryReserve in place of TryProtect; the argument is the
// same, since a robust guard too must show each node reachable after
// reserving it.
//
// # Hazard pointers: two suffice
//
// Michael's Find keeps three hazard pointers (prev's node, cur and next).
// This one keeps two, because it validates every node through the link that
// leads to it and requires that link to be unmarked: to advance from cur to
// next it publishes next in the slot that held prev's node, then checks that
// cur's next field still holds (next, unmarked). A node whose next field is
// unmarked has not been unlinked (only marked nodes are unlinked), so next was
// reachable, hence not retired, when the publication became visible. When the
// check fails, or when cur is marked and cannot be unlinked, Find restarts
// from the head, as Michael's does; after unlinking a marked cur it validates
// its successor through prev's (now updated) link instead. It never
// dereferences a node reached through a marked link, which is what makes
// Michael's third pointer unnecessary.
package hmlist
