// Package queue holds Michael-Scott queues (M. M. Michael and M. L. Scott,
// "Simple, Fast, and Practical Non-Blocking and Blocking Concurrent Queue
// Algorithms", PODC 1996): a singly linked list with a dummy node at the
// head, values appended by compare-and-swap on the last node's next link and
// removed by swinging the head.
//
// Enqueue and Dequeue are linearizable and lock-free: a goroutine retries
// only when another has made progress, and any goroutine finding the tail
// behind the last node advances it first. Values come out in the order
// their Enqueues took effect.
//
// Memory model: an Enqueue is synchronized before the Dequeue that returns
// its value, so what the enqueuer wrote before it (behind a pointer value,
// say) is visible to the dequeuer.
//
// GC drops dequeued nodes to the garbage collector, the plain Go baseline.
// Epoch recycles them through an epoch.Pool, safe from ABA because a node is
// reused only after every guard that could have read it has exited. Hazard
// protects the head (and, to read the value, its successor) in Dequeue,
// and the tail in Enqueue, with hazard pointers and recycles nodes through a hazard.Pool once no hazard pointer
// holds them. Epoch on a robust Collector (epoch.WithRobust) protects the
// same nodes as Hazard, with its guard's reservation; on a classic one it
// only loads.
//
// The dummy node keeps the last dequeued value referenced until the next
// Dequeue: it cannot be cleared because concurrent Dequeues may still read
// it.
package queue
