// Package offheap provides memory the garbage collector never scans, made
// safe to free and reuse under lock-free readers by package epoch.
//
// A Slab[T] holds up to a fixed number of values of a pointer-free type T in
// one block obtained from the operating system with mmap. Alloc returns a
// Handle (slot index plus generation) and a *T; Get resolves a handle under
// an epoch guard, without locks and without copying; Free retires the slot
// through the epoch collector, so it is reused only after every guard that
// could have resolved the handle has exited.
//
//	s, err := offheap.NewSlab[Entry](c, 1_000_000)  // at most 1M entries
//	h, e, err := s.Alloc()                           // e is zeroed, yours to fill
//	e.Hits = 1
//	table.Store(uint64(h))                           // publish the handle
//
//	g := c.Enter()
//	e, err = s.Get(g, offheap.Handle(table.Load()))  // valid until g.Exit()
//	...
//	err = s.Free(g, h)                               // reused after the grace period
//	g.Exit()
//
// # When to use it
//
// Use it for millions of small fixed-size records (cache entries, index
// nodes, routing entries) that would otherwise be Go objects the GC marks at
// every cycle. The memory costs no GC work, the heap stays small, and readers
// get the value in place, as fastcache or bigcache cannot offer (they copy on
// every read because they cannot tell when a region may be reused). The price
// is manual management: you must Free what you Alloc, and T must not contain
// Go pointers (store a Handle or an index instead). For ordinary objects, or
// when allocation rate and GC cost are not a problem, let the GC do it.
//
// The memory comes from mmap (golang.org/x/sys/unix, no cgo) on Linux, with
// MAP_NORESERVE: the capacity is reserved as address space at NewSlab and
// pages are committed when slots are first used. On other systems the block
// is a pointer-free []uint64 on the Go heap: still never scanned, but counted
// in the heap size and released by the GC after Close.
//
// Each slot's bookkeeping (generation, free-list link) is an 8-byte header
// just before the value, in the mapped block: nothing per slot lives on
// the Go heap, and Get reads the header and the value on the same cache
// line (mostly). Close unmaps the block only after a grace period, so the
// epoch reclamation of a slot freed before Close still finds its header.
//
// # Guarantees (Go memory model)
//
// Reclamation uses package epoch only (not hazard): one guard covers every
// handle a reader resolves, which suits scans and multi-entry reads.
//
//   - If Get(g, h) succeeds, the memory it returns is not reused, poisoned or
//     unmapped before g exits, even if h is freed meanwhile: g's Exit is
//     synchronized before the slot's next Alloc returns, and before Close
//     unmaps the block.
//   - Free(g, h) changes h's generation with an atomic compare-and-swap, so a
//     Get that starts after Free returns fails with ErrStale; a Get
//     concurrent with Free may succeed, and then the first guarantee holds.
//     So a reader that loads a handle from a shared location and resolves
//     it meets ErrStale whenever a writer freed it in between (a
//     copy-on-write update replaced it): the reader lost a race, and loads
//     the location again (the writer published the new handle before it
//     freed the old one). A structure whose readers load handles only from
//     links it updates itself, under the guard, can use Slab.Peek instead.
//   - Writes to a value are not synchronized by this package: initialize the
//     value after Alloc and publish its handle with a synchronizing operation
//     (an atomic store, a channel send); readers that load the handle with the
//     matching atomic load see the initialized value. Concurrent updates of
//     a live value need the caller's own synchronization (atomics inside T, or
//     copy-on-write: Alloc a new value, publish it, Free the old one).
//   - Handles are never reused: a slot's generation grows with every Alloc and
//     Free, and a slot whose generation would wrap is retired for good. A stale
//     handle therefore fails cleanly forever; it never resolves to someone
//     else's value.
//
// Alloc, Get, Free, Stats and Close are safe for concurrent use. Get and
// Free are lock-free and do not allocate; Alloc and the return of a slot
// after its grace period use a per-processor cache of free slots and take
// a short mutex only when it is empty or full (always in checked mode, and
// in a slab of fewer than 32 slots per processor, which has no caches).
//
// # Limits
//
// The capacity given to NewSlab is the maximum: Alloc returns an error
// wrapping ErrFull when every slot is live or still in its grace period; it
// never grows, crashes or blocks. Stats reports live, pending and touched
// slots.
//
// A freed slot counts against the capacity until the collector reclaims
// it: after every guard open at its Free has exited, and after its batch
// is handed over and a grace period passes, so a reader descheduled inside
// a guard (common when goroutines outnumber processors) holds back every
// slot freed meanwhile. Size the capacity for the live values plus the
// slots freed during the longest guard (Stats.Pending shows them under
// load). After ErrFull, a Barrier of the collector called outside any
// guard waits those grace periods out; Collector.Flush does not wait.
//
// # Misuse
//
// Conditions a caller can meet are errors, tested with errors.Is:
//
//   - a stale handle (freed) or a forged one (zero, never issued):
//     ErrStale, from Get and Free. Handles carry no slab identity: a handle
//     of another slab is not detected and may name a live slot here;
//   - a second Free of a handle: ErrDoubleFree;
//   - any call after Close: ErrClosed;
//   - a full slab: ErrFull;
//   - a T containing Go pointers, a zero-size T, or a capacity that is not
//     positive or does not fit: ErrPointers and ErrSize from NewSlab.
//
// Stale handles, double frees and writes after free are reported as
// *MisuseError. Passing a nil guard, a guard of another collector, or one
// that has exited, panics with a message naming it, before anything
// changes (an exited *Guard kept until Enter hands the same Guard out
// again reads as open, see epoch.Guard.Open; under the race detector Enter
// never does). Using a pointer after its guard exited (or after
// its own Free, for Alloc's pointer) cannot be caught cheaply: enable
// WithChecks in tests, which poisons freed slots and verifies the poison on
// reuse. Close waits for a grace period, so it must not be called inside a
// guard of the slab's collector on the same goroutine (CloseContext bounds
// the wait); Alloc concurrent with Close, or writes through Alloc's pointer
// after Close, are races in the caller's program.
//
// # Checked mode
//
// WithChecks is a sanitizer for tests, in the style of ASan: it records the
// stack of every Alloc and Free, poisons slots with PoisonByte when their
// grace period ends, fails Alloc with ErrCorrupted when a freed slot was
// written after its grace period (a write during the grace period, which
// guards make legal for a reader, is overwritten by the poison; a slot
// written and never reused is not checked), reports use after free and
// double free with the stacks of the allocation, of the free and of the
// misuse (for the slot's last four lives), and makes Close return an
// error wrapping a *LeakError (errors.As; it wraps ErrLeaked) listing every allocation never freed with
// the stack where it was made. Without checked mode, stale handles and
// double frees are still clean errors, and Close drops live values silently
// (arena style).
//
// # Byte regions
//
// Arena holds variable-length byte regions (keys and values) with the same
// guarantees, errors and checked mode: Alloc(n) returns a Ref and the region,
// Bytes(g, ref) returns it in place under a guard, Free(g, ref) retires it.
// Regions are rounded up to power-of-two size classes, each a slab of its own,
// sharing one byte budget.
package offheap
