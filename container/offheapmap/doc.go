// Package offheapmap is a concurrent hash map whose entries and table live
// in memory the garbage collector never scans (package offheap), for maps
// of millions of entries that would otherwise cost the GC a mark of every
// entry at every cycle: caches, indexes, routing tables.
//
//	c := epoch.New()
//	m, err := offheapmap.New[uint64, Record](c, 20_000_000) // at most 20M entries
//	...
//	g := c.Enter()
//	_, err = m.Store(g, id, rec) // offheap.ErrFull at the maximum
//	if r, ok := m.Load(g, id); ok {
//		use(r) // *Record in place, no copy; valid until g.Exit()
//	}
//	g.Exit()
//
// Keys and values are fixed-size, pointer-free types (numbers, arrays,
// structs of them): New refuses others with offheap.ErrPointers. Keys are
// compared with ==, as in Go's maps: a key that is or holds a NaN is never
// equal to itself, so each Store of one adds an entry that Load and Delete
// cannot find again, and that only Close frees. Each
// entry is a slot of an offheap.Slab; the table is an offheap.Array of
// 64-byte buckets of seven slots, probed linearly, with a tag byte per slot
// so that a probe compares only entries whose hash matches.
//
// # Concurrency
//
// Load is lock-free: it never blocks and never writes shared memory, and
// it retries a bucket only when a slot it matched was deleted (and maybe
// taken again) meanwhile. Store and Delete lock one of 256 stripes (chosen
// by the key's hash, so writers of different keys rarely meet); a grow
// takes every stripe, so writers wait for it while readers go on. This is
// the design of the concurrent maps Go programs use today (xsync.Map,
// sync.Map's read path), with the memory moved off the heap.
//
// Updates are copy-on-write: Store writes a new entry and links it in
// place of the old one, which is freed through the epoch collector, so a
// reader that loaded the old value keeps reading it, unchanged, until its
// guard exits. A Load that returns a value is synchronized after the Store
// that stored it; values must not be written through the pointers Load
// returns.
//
// The table grows (doubles) when three quarters of its slots are used,
// counting the tombstones of deleted keys; a table full of tombstones is
// rebuilt at its size. The old table is retired through the collector, so
// readers that still traverse it stay safe until their guards exit.
//
// # Memory
//
// Nothing per live entry lives on the Go heap: the entries' slab reserves
// maxEntries slots of address space up front and commits pages as they are
// used, the table is mapped as it grows, and the slab's bookkeeping is
// pointer-free. A replaced or deleted entry has a record in one of the
// collector's retire batches until its grace period ends (the batches are
// reused, so this costs no allocation in the steady state). The maximum counts entries in their grace period too:
// Store fails with an error wrapping offheap.ErrFull, and leaves the map
// unchanged, when it is reached. Close frees everything.
//
// # The collector
//
// Every replaced or deleted entry is retired through the collector given
// to New. With the asymmetric fences (Linux), each sealed batch of retired
// objects costs the collector a membarrier, which interrupts every running
// thread of the process for a few microseconds, readers included: for a
// map that takes thousands of updates a second, give it a collector with
// larger batches, epoch.New(epoch.WithBatchSize(2048)) (measured on the
// 2-core development machine, 90/10, 2 goroutines: with 10M entries the
// reads' 99.9th percentile is 2.1 us with batches of 256 and 1.18 us with
// 2048, as without membarrier; with 1M entries 9.0 us with the default
// 64). The entries held back grow with the batch: a few thousand per
// goroutine.
//
// # Misuse
//
// Load, Store, Delete and Range panic with a nil guard, a guard of another
// collector or one that has exited; after Close, Load and Range panic,
// Store fails with offheap.ErrClosed and Delete returns false. With offheap.WithChecks the entry slab poisons freed
// entries, as package offheap describes; Close frees the entries still
// stored before it closes the slab, so its leak report names only entries
// the map itself lost, never ones left in the map.
package offheapmap
