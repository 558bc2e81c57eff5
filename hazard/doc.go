// Package hazard is hazard-pointer memory reclamation (Michael 2004), with
// the semantics of folly's hazptr and the C++26 std::hazard_pointer.
//
// A reader acquires a hazard pointer and protects the object it is about to
// use: Protect loads a shared pointer, publishes the address, and re-loads
// until both agree. A writer that unlinks an object retires it; the free
// function runs once no hazard pointer protects it.
//
//	hp := d.Acquire()
//	n := hazard.Protect(hp, &head)       // safe to use until hp.Reset()
//	if n != nil && head.CompareAndSwap(n, n.next) {
//		hazard.Retire(d, n, freeNode)    // runs once no hazard pointer holds n
//	}
//	hp.Release()
//
// # When to use it
//
// Choose hazard pointers when memory must stay bounded whatever readers
// do: a reader that stalls while protecting an object holds back that one
// object, not everything retired after it as with package epoch. The price
// is on the read path: each protection is a store (a plain one on Linux
// with membarrier, see Implementation) and a re-load, per object rather
// than per critical section.
//
// # Traversals
//
// Protect validates against the link it loaded from: once the object is
// published, the link still holding it proves it was not unlinked before
// the publication. When that link lives in another protected object (a
// list's node), the proof holds only while that object is itself linked:
// a node unlinked and retired keeps pointing at its old successor, which
// may be unlinked and freed later while the stale link still names it.
// Structures whose readers follow links between nodes must therefore make
// an unlinked node's links refuse readers: mark them before the unlink, as
// Harris-Michael lists do (container/marked's Pointer.TryProtect fails on
// a marked link), or point them at a sentinel the reader restarts on. A
// reader whose validation fails starts again from a root it can trust.
// container/list and container/hashmap mark links; container/queue reads
// its head again after it protects the head's successor, since the
// successor is in the queue only while that head is.
//
// # Prompt release
//
// Objects wait in per-processor batches, so without help an object might
// wait for 63 more retires on its processor. Reclaim skips the batch: it
// frees one object at once unless a hazard pointer protects it (then it
// retires it), at the cost of a heavy fence and a read of the slots, which
// is how a writer that swaps a snapshot, a file or a cgo handle releases
// the old one, as arc-swap releases the old value on store (refcount's
// AtomicArc does so). Three things move retired objects along:
//
//   - Flush hands every processor's open batch to the domain and scans,
//     waiting for no reader: what no hazard pointer protects is reclaimed
//     before Flush returns (or by a scan of another goroutine that took
//     it; Flush scans once more after any scan that held batches when it
//     took the list).
//   - A timer ages batches out: while anything is pending it runs a Flush
//     every WithMaxBatchAge (DefaultMaxBatchAge, 10 ms), so an object
//     retired with no further calls is reclaimed about one age after it
//     was retired or after nothing protects it any more, whichever is
//     later. Free functions may therefore run on
//     the timer's goroutine, concurrently with the program's own: they
//     must be safe to run on any goroutine. WithMaxBatchAge(0) turns the
//     timer off; Close stops it.
//   - Barrier reclaims everything retired before it, waiting for hazard
//     pointers as long as its context allows.
//
// # Recycling
//
// Pool[T] recycles objects through a Domain: Retire hands an object to the
// domain and Get returns it, zeroed, once no hazard pointer protects it. A
// lock-free structure that takes its nodes from a Pool allocates nothing in
// steady state and is immune to ABA, since a node cannot come back while a
// reader that might compare against it still protects it. OnReclaim sees
// each object before it is zeroed (to release what it holds, or to poison
// it in tests).
//
// # The process-wide Domain
//
// Default returns one Domain for the whole process, made on first use, for
// small programs and for libraries that share structures without passing a
// Domain around. It is never closed: Close on it panics.
//
// # The bound
//
// An object counts in Stats.Pending from the moment Retire is called. It
// goes into its processor's open batch of 64; a full batch is sealed (handed
// to the domain). When the objects in sealed batches reach Threshold =
// max(WithThreshold, WithThresholdPerSlot × Pointers held) (default
// max(1000, 2 × Pointers)), the goroutine that sealed the batch scans before
// Retire returns: it takes every sealed batch, reclaims what no slot
// protects (all but at most one object per Pointer), and puts the rest back.
// Flush, Barrier, Close and the aging timer seal open batches too, one
// flusher at a time: the open batches of all processors, then a scan while
// Threshold is reached, as Retire does (and the spare shard's, see below,
// with a scan of its own). Scans run concurrently, and a Barrier or Close
// takes its own list without stopping them, so no reader can hold more back
// than the objects it protects:
//
//	Pending <= 2 × Tmax + (S+2) × W × (64 + 2 × Slots) + 63 × (2P + 1)
//
// at every moment, where Tmax is the highest Threshold so far (at most
// max(WithThreshold, WithThresholdPerSlot × Slots)), P the number of
// processors when New ran (GOMAXPROCS), W the number of goroutines inside
// Retire, Flush, Barrier or Close at once, the aging timer's counting while
// it ticks (a free function that retires counts as one more), and S <= W the
// number of scans in progress. The proof: open batches hold at most 63
// objects per shard, one per processor that existed at New and a spare
// shared by those GOMAXPROCS added since; the one flusher at a time seals up
// to P of them before its scan, at most 63 × P objects beyond the one batch
// per goroutine counted below. Objects sealed while fewer than Threshold
// were in sealed batches number fewer than Tmax in all (at the latest such
// seal, all of them were there and counted). Every other batch is followed
// by its sealer's own scan, so between two scans' takes each goroutine adds
// at most one such batch to the sealed list, and at most W finished scans
// put back at most Slots protected objects each; each scan in progress holds
// (itself, or on its list's ready stack, below) at most what the list held
// when it took it, and a Barrier's list also gets back what the scans it
// waits for keep. None of this depends on how long a reader holds a
// protection. Retire's scans share heavy fences (a shared one starts at most
// every 20 us): such a scan judges only the batches sealed before the newest
// fence began and puts the others back, unless the objects sealed since that
// fence began (in any list or scan) reach Threshold, when it runs a fence of
// its own. Those objects are pending, so once they reach Threshold the next
// goroutine that seals a batch scans with a fence of its own, and each
// goroutine seals at most one batch before its own scan: fewer than Tmax +
// 64 × W of them wait for a fence, which the bound's first and second terms
// count once more. In practice a scan rarely overlaps another: the
// stalled-reader test (bound_test.go, four goroutines retiring a million
// objects) sees PeakPending near Threshold + 64 × 2W and asserts the bound
// above. Stats.PeakPending records the highest Pending, sampled where it
// peaks: just before each sweep.
//
// Go's scheduler may deschedule a scan anywhere, for as long as the other
// goroutines keep the processors (seconds, with a thousand goroutines on
// two). So a scan judges what it took without giving up its processor
// (the heavy fence, the read of the slots and the verdict on each object,
// with preemption disabled), puts what it keeps back on its list and what
// it may reclaim on the list's ready stack, and only then runs free
// functions, which are the caller's code: four batches at a time, taken
// from the ready stack, which every scan of the list empties before it
// ends. A scan of Retire descheduled (or blocked in a free function)
// holds back at most 256 objects, and the others go to whichever scan of
// the list runs next. A fresh scan (Flush, the aging timer, Close, and a
// Barrier's or Close's sweep of a list it took) first frees everything it
// judged itself, so that what it took is reclaimed before it returns:
// descheduled or blocked in one of those free functions, it holds back
// all of that. Measured on the Treiber stack with a hazard.Pool, 1,024 goroutines
// on 2 processors, runs of 10 s: peak pending 2,049 to 2,098 objects (mean
// 1,020 to 1,060), where scans that held what they took until they ran
// again peaked at 88,600 to 91,400 (mean 32,500 to 60,500). The price: a
// scan holds its processor for 24 to 34 us on average there (at 2, 64 and
// 1,024 goroutines; 98% to 99% of scans under 90 us, the heavy fence
// included, which a scan held before too), and a stop-the-world of the
// garbage collector waits for it.
//
// The bound assumes that free functions return. One that panics ends its
// scan: the objects the scan had not freed yet stay pending, for the next
// scan, and the panic goes to the caller. So while free functions keep
// panicking, Pending can grow past the bound (an independent review
// measured 13,452 against a bound of 635 with one free function in 41
// panicking); the first scan in which none panics, which takes every
// sealed batch, brings it back under.
//
// # Guarantees (Go memory model)
//
// If Protect (or a successful TryProtect) returns an object before it is
// unlinked (its validating load did not observe the unlinking write, so it
// precedes that write in the modification order of the source), every access made through that hazard pointer until its next
// Reset, Release or protection is synchronized before the object's free
// function runs. Everything written before Retire is synchronized before
// the free function too. Each free function runs exactly once: at the
// latest during Close. The free function of an object retired before a
// Barrier that returns nil, or before a Flush that reclaims it, is
// synchronized before that call returns; so is every free function that
// Close reports reclaimed (it returns nil, or an error counting only the
// objects still pending).
//
// Domain and Stats are safe for concurrent use; a Pointer or Array belongs
// to one goroutine at a time.
//
// # Misuse
//
// Misuse panics with a message naming it: a nil pointer or free function,
// any use of a released Pointer, Acquire or Retire after Close, Close of
// the Default domain, Barrier with a nil context, an option out of range,
// a zero Pool or NewPool with a nil Domain.
// Barrier returns ctx.Err() when its context ends; Close returns an error
// wrapping ErrProtected while objects are still protected, or ErrBusy when
// another goroutine's free function holds objects past the second or so
// Close waits for it (Close never waits longer). A goroutine that calls
// Barrier while one of its own Pointers protects a retired object waits for
// itself until the context ends: a Pointer does not know its goroutine, so
// this cannot be detected; reset the goroutine's Pointers first. Barrier
// must not be called from a free function of its Domain (it would wait for
// the scan that runs it); Close and Flush may be. A free function may
// panic: the panic reaches the caller that ran it (Retire, Reclaim, Flush,
// Barrier or Close; for the aging timer, the next Flush, Barrier, Close or
// Retire that seals a batch, one panic per call), and every other pending
// object is still reclaimed.
//
// # Implementation
//
// Hazard slots live in the same never-moving registry as epoch's
// participant slots (internal/registry), so a scan needs no lock and
// Acquire takes its processor's home slot in steady state. Protect's
// publication must be ordered before the re-load: where asymmetric fences
// are available (Linux with membarrier, not under the race detector; see
// package epoch's "Fences" and internal/fence) it is a release store (a
// plain MOV on amd64, an STLR on arm64) and every scan takes a heavy
// fence before it reads the slots (Retire's scans share one, and judge
// only what was sealed before it began; see "The bound"); elsewhere, or with RECLAIM_FENCE=sc, it
// is an atomic store (XCHG on amd64). Reset needs only release order and
// is a release store on amd64 and arm64 (internal/release). A scan snapshots the published
// addresses, sorts them, and sweeps the sealed batches with the same
// panic-safe sweep as package epoch (internal/retire). Retire puts an
// object in its processor's shard, pinned, and takes the shard's lock as a
// guard announces itself: where fences are asymmetric a release store, then
// a read of whether a flusher (Flush, Barrier, Close, the aging timer) wants
// the shard, which sets that, runs a heavy fence and waits for the lock's
// release (the Dekker handshake of "Fences" in package epoch; with
// RECLAIM_FENCE=sc the store is atomic, and under the race detector a
// compare-and-swap). So Retire's common case executes no locked
// instruction (a batch of 64 pays six: the aging timer's arming, the two
// counts of its hand-over and three on the sealed list; HazardRetire went
// from 15.2 to 12.2 ns, benchstat of ten interleaved runs). The Ps that
// GOMAXPROCS added after New share a spare shard, locked by
// compare-and-swap. The aging timer is internal/ager: it starts no
// goroutine while idle.
package hazard
