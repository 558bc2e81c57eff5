// Package epoch is epoch-based memory reclamation for lock-free data
// structures, with a Collector/Guard API in the style of Rust's seize.
//
// A reader enters a guard, loads shared pointers, and exits. A writer that
// unlinks an object retires it with a free function; the free function runs
// after a grace period, once every guard that could still hold the object
// has exited. Pool builds allocation-free node recycling on top.
//
//	g := c.Enter()
//	n := epoch.Load(g, &head)          // safe to dereference until g.Exit()
//	if head.CompareAndSwap(n, n.next) {
//		epoch.Retire(g, n, freeNode)   // runs after every reader of n exits
//	}
//	g.Exit()
//
// # When to use it
//
// Use epoch when reads are frequent and short and you want them as cheap as
// possible: entering and exiting a guard is a store to announce it and a
// store to clear it (on Linux with membarrier, neither is a locked
// instruction; see Fences below), and a guard protects everything it loads. The price is that
// one guard held for a long time (a goroutine blocked while inside one)
// stops all reclamation; Stats reports the pending objects and the oldest
// open guard, and WithGuardTracking records where it was entered. When
// memory must stay bounded whatever readers do, use package hazard.
//
// # Guarantees (Go memory model)
//
// If an object is retired after a load made under guard G (the retiring
// goroutine unlinked it after G's load), then G's Exit is synchronized
// before the object's free function starts. Everything written before
// Retire is synchronized before the free function too. Each free function
// runs exactly once: at the latest during Close. A Pool node passed to
// Retire is returned by Get only after the same grace period.
//
// Collector, Pool and Stats are safe for concurrent use. A Guard and a
// Handle belong to one goroutine at a time.
//
// # Misuse
//
// Misuse panics with a message naming it: a nil pointer or free function,
// Exit twice, any use of an exited guard, Enter or Register after Close,
// Refresh on a nested Handle guard, Unregister with a guard open, Close of
// the Default collector, and (with WithGuardTracking) Barrier inside one's
// own guard. Conditions a caller must handle are errors: Barrier returns
// ctx.Err() when its context ends, Close returns an error wrapping
// ErrGuardsOpen when guards are open. A free function may panic: the panic
// reaches the caller that ran it (Retire, Flush, Barrier or Close; a panic
// on the aging timer's goroutine is re-raised by the next of these), and
// every other pending object is still reclaimed. Barrier and Close must not
// be called from a free function, and Barrier not inside a guard of the
// same Collector on the same goroutine: each would wait for itself.
//
// # Prompt release
//
// Retire collects objects in a per-slot batch; a batch is handed to the
// collector when it is full (WithBatchSize), when it is older than the
// maximum batch age (WithMaxBatchAge, 10 ms by default: a timer, armed only
// while objects are pending, flushes old batches and advances the epoch),
// at Guard.Flush or Collector.Flush, and at Barrier and Close. So an object
// retired with no further activity is reclaimed a few batch ages after the
// last guard that could hold it exits; call Collector.Flush after the
// writer's guard exits to reclaim at once. Stats counts an object as
// retired, and pending, from the moment Retire is called.
//
// # Algorithm
//
// This is classic epoch-based reclamation (Fraser's EBR, as in
// crossbeam-epoch and DEBRA), adapted to Go:
//
//   - A global epoch counter. A participant slot announces the epoch it read
//     when it enters a guard and clears it on exit with a release store (a
//     plain store on amd64, an STLR on arm64). The announcement is a
//     release store too where asymmetric fences are available, a
//     sequentially consistent one elsewhere (see Fences).
//   - Retire appends to the slot's batch; a full batch is tagged with the
//     current epoch and pushed on a lock-free stack. The epoch advances from
//     e to e+1 when a scan finds every open guard at e; a batch tagged t is
//     reclaimed once the epoch reaches t+2, when every guard that was open
//     at the tag has exited. One goroutine reclaims at a time (a try-lock:
//     the others leave their batches and go on), which keeps reclamation
//     lock-free for retirers and lets Barrier and Close wait for it.
//   - Go has no thread-local storage, so slots live in a registry of
//     records that never move (internal/registry). Enter takes one from a
//     per-P cache (runtime.procPin for a few instructions), Exit gives it
//     back; a Handle keeps one for a hot loop. Thousands of goroutines can
//     hold guards at once; their slots are reused later.
//
// # Fences
//
// A guard's announcement must be ordered before the guard's loads, for the
// scan that decides whether the epoch may advance. Go's atomic stores are
// all sequentially consistent, which costs a locked instruction per Enter.
// On linux/amd64 and linux/arm64, when the kernel accepts membarrier
// registration (not under seccomp filters that forbid it, old kernels or
// gVisor), and never under the race detector, the announcement is a plain
// store, and every scan that acts on announcements (tryAdvance before it
// advances, Close's count of open guards, a collector claiming idle slots)
// first runs membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED), which makes every
// thread of the process execute a full fence (internal/fence). Then either
// the scan sees the announcement, or the guard's later loads see everything
// the scanner made visible before the barrier, which includes the unlink of
// every object whose grace period that scan helps to end. Goroutines that
// move between threads pass through the scheduler's locked instructions,
// which drain their stores first. Setting RECLAIM_FENCE=sc in the
// environment forces the sequentially consistent path; the choice is made
// once, at start-up. The heavy fence costs a system call (about 0.2 us on
// the development machine, more with many threads): tryAdvance runs it only
// when a cheap scan finds nothing holding the epoch back, so it is paid at
// most once per sealed batch.
//
// Why not Hyaline (seize's scheme)? Hyaline's enter and leave are also one
// atomic swap each when nothing was retired meanwhile, so it cannot beat
// EBR's read path, and EBR's is below the floor of two locked stores: on
// the 2-core development machine Handle Enter+Exit is 0.41x and pooled
// Enter+Exit 0.95x two XCHG with asymmetric fences (0.66x and 1.09x on the
// SC path; see bench and README). Hyaline's swaps cannot be made plain. On the retire path Hyaline writes into every
// active slot's list (a CAS each) and every guard exit decrements a
// reference count per batch retired during it, while EBR's per-batch work
// is a scan that only reads slot words: measured, Retire adds about 7 ns
// per object on top of Enter+Exit, scan and reclamation included. Hyaline's
// gain, reclamation balanced across threads, matters less here because Pool
// keeps recycled nodes with the slot that retired them.
//
// # Barrier and Close
//
// Barrier flushes every slot's open batch (idle slots directly; a slot
// with a guard open flushes itself when the guard exits or refreshes),
// advances the epoch twice past what it flushed, and then reclaims: it never
// holds the reclaiming lock while it waits, so Retire, Flush and Close go
// on meanwhile. Close stops new guards and reclaims everything; with guards
// still open it reclaims only what is safe and says how many are open.
// Close reclaims only by grace periods, exactly as Retire does, never by
// counting guards and assuming none will come: so an Enter that races with
// Close (a free function run by Close may Enter and Retire, and so, while
// free functions run, may another goroutine) can never lose an object it
// loaded. Enter reads the Collector's state after its announcement and
// withdraws it once Close is done, which is what lets Close return nil only
// when no guard is open.
package epoch
