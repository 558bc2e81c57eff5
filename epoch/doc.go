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
// open guard, and WithGuardTracking records where it was entered. With more
// goroutines than processors, or when a reader may stall, use the robust
// mode (WithRobust, below): pending memory then stays bounded whatever the
// scheduler does, for a contract like hazard pointers' and a small cost on
// each Load. When memory must stay bounded for objects that are not Pool
// nodes, use package hazard.
//
// # Guarantees (Go memory model)
//
// If an object is retired after a load made under guard G (the retiring
// goroutine unlinked it after G's load: the load did not observe the
// unlinking write, so it precedes that write in the modification order of
// the pointer it read), then G's Exit is synchronized before the object's
// free function starts. Everything written before
// Retire is synchronized before the free function too. Each free function
// runs exactly once: at the latest during Close. A Pool node passed to
// Retire is returned by Get only after the same grace period.
//
// Collector, Pool and Stats are safe for concurrent use. A Guard and a
// Handle belong to one goroutine at a time.
//
// Run the tests of code that uses this package with -race: a *Guard kept
// past its Exit is caught for certain only there (and with
// WithGuardTracking); in a normal build it may act on a later guard of
// the same slot, possibly another goroutine's.
//
// # Misuse
//
// Misuse panics with a message naming it: a nil pointer or free function,
// Exit twice and any use of an exited guard (always under the race
// detector and WithGuardTracking; otherwise until the guard's cell is
// reused, see Guard), Enter or Register after Close, Refresh while guards
// of one Handle are nested (either one), Unregister with a guard open,
// Close of the Default collector, Barrier with a nil context or from a free
// function, a zero Pool or NewPool with a nil Collector, and (with
// WithGuardTracking) Barrier inside one's own guard. Retiring one Pool node
// twice is not detected. Conditions a caller must handle are errors:
// Barrier returns ctx.Err() when its context ends, Close returns an error wrapping
// ErrGuardsOpen when guards are open. A free function may panic: the panic
// reaches the caller that ran it (Retire, Flush, Barrier or Close; a panic
// on the aging timer's goroutine is re-raised by the next Flush, Barrier,
// Close or Retire that fills a batch, one panic per call), and
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
//     records that never move (internal/registry). Enter takes its P's
//     home slot (runtime.procPin for a few instructions), Exit gives it
//     back with one release store from whatever P it runs on (a slot from
//     a shared free list when the home slot is taken); a Handle keeps one
//     for a hot loop. Thousands of goroutines can
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
// comes after membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED), which makes
// every thread of the process execute a full fence (internal/fence). Then
// either the scan sees the announcement, or the guard's later loads see
// everything that was visible when the barrier began. A scan runs its own
// barrier, which then covers everything the scanner made visible, or, for a
// seal (a Pool's, or Retire's full batch), reuses the newest one if it began
// once the epoch had reached the value the scan advances from, e: the
// objects whose grace period that advance ends were all sealed at e-1 or
// before, so unlinked before the epoch left e-1, hence before the barrier
// began. Goroutines that move between threads pass through the scheduler's
// locked instructions, which drain their stores first. Setting
// RECLAIM_FENCE=sc in the environment forces the sequentially consistent
// path; the choice is made once, at start-up. The heavy fence costs a system
// call (about 0.2 us on the 2-core development machine with the other core
// idle, 12 to 14 us when every core runs a thread of the process) and
// interrupts every running thread of the process (an inter-processor
// interrupt: a few microseconds on a virtual machine, where it exits to the
// hypervisor). tryAdvance runs it only when a cheap scan finds nothing
// holding the epoch back. Flush, Barrier and Close run one of their own;
// seals (a Pool's, and Retire's full batches), which can come every few
// hundred nanoseconds, share them: a seal starts one only if none has
// started for a gap of 20 times the last fences' duration (at least 5 us, at
// most 500 us), and otherwise advances with the newest one that has
// completed if it began at the current epoch, or leaves the advance to a
// later seal. While a fence takes at most 25 us, shared fences thus take
// about 5% of one processor (more beyond, where the gap stops growing), and
// a Pool holds, besides its batches, what it retires in up to two gaps and
// the fences: measured with one goroutine recycling 15 million nodes a
// second, about 7 batches of 64 on average, and up to about 10,000 nodes
// when a fence is slow, where a fence per seal held one batch. Measured on
// the development VM with cmd/reclaimbench (the epoch-pool map at 0/100, one
// and two goroutines, 1,024 and 1M keys): with a fence per seal it ran at
// 0.45x-0.85x of its speed on the SC path, with a 99.9th percentile of 32 us
// at two goroutines; with shared fences at 0.93x-1.00x, with 1 to 8 us.
// Larger batches (WithBatchSize) make fences rarer still: the off-heap map
// of container/offheapmap went from 2.1 us to 1.18 us in its readers' 99.9th
// percentile with 2048 instead of 256.
//
// Why not Hyaline (seize's scheme)? Hyaline's enter and leave are also one
// atomic swap each when nothing was retired meanwhile, so it cannot beat
// EBR's read path, and EBR's is below the floor of two locked stores: on
// the 2-core development machine Handle Enter+Exit is 0.28x and pooled
// Enter+Exit 0.59x two XCHG with asymmetric fences (0.56x and 0.74x on the
// SC path; see bench and README). Hyaline's swaps cannot be made plain. On the retire path Hyaline writes into every
// active slot's list (a CAS each) and every guard exit decrements a
// reference count per batch retired during it, while EBR's per-batch work
// is a scan that only reads slot words: measured, Retire adds about 10 to
// 14 ns per object on top of a pooled Enter+Exit, scan and reclamation included. Hyaline's
// gain, reclamation balanced across threads, matters less here because Pool
// keeps recycled nodes with the slot that retired them.
//
// # Robust mode
//
// Go preempts goroutines anywhere, so with more goroutines than processors
// one of them is nearly always descheduled inside a guard, and the classic
// epoch cannot advance until it runs again: pending memory grows with the
// scheduler's delays, not with the program's data. (A classic Pool that
// can reuse nothing yields the processor once, when an older guard holds
// the epoch back, before it allocates: that lets such a goroutine run and
// cuts pending memory severalfold, but bounds nothing.) A Collector created
// WithRobust answers this with interval-based reclamation (2GEIBR, Wen et
// al., PPoPP 2018): a guard holds back only the Pool nodes that were alive
// while it could load them.
//
//   - The epoch becomes an era clock that advances whatever guards do: at
//     every seal, and every 16 nodes a slot retires into a Pool.
//   - A guard reserves an interval of eras [lo, hi]: lo is the era it
//     entered at (the classic announcement), hi the newest era it has seen
//     in Load or Guard.Reserve, which raise it (a release store, as the
//     announcement) whenever the era has moved, and load again. A guard's
//     first reservation, if it has retired nothing yet, moves the start of
//     its interval for Pool nodes up to the present instead (it holds no
//     node yet), so a goroutine descheduled between Enter and its first
//     load does not reserve every era it missed.
//   - A Pool node carries, beside it where the user never sees it, the era
//     Get handed it out at (its birth, to which Get raises the getter's hi),
//     and its batch the era Retire took it back at.
//   - A scan (at every Pool seal, at a full batch of Retire, and at Flush,
//     Barrier, Close and the aging timer) takes the era E+1 read before a
//     completed heavy fence (its own, or, for seals, the newest one that
//     seals share; see The cost) and reads every open guard's
//     interval. A node retired at era t <= E and born at b is reclaimed
//     when no interval meets [b, t]; batches are judged whole first, then
//     node by node (except that a seal leaves a batch sealed after E whole
//     for its slot's next seal, which usually frees it without a look at
//     each node). A seal leaves the open guard's own retires in the next
//     batch, so the rest is judged without that guard (a batch that guard
//     retired whole is sealed and kept while the slot's guard is the one
//     that retired it: until it exits and the slot opens another, or the
//     slot is flushed). Each seal also tries the batches of one other
//     slot, round robin, and one orphaned batch, with its own guard's
//     interval added (except while a Barrier waits for such seals to end),
//     and the sweeps judge every slot's: a slot whose holder is descheduled keeps
//     what its last seal found held, and does not seal again until it
//     runs.
//   - Objects retired with Retire or Defer have no known birth and are held
//     back as in the classic mode, by every guard that entered before
//     their seal.
//
// Why it is safe. A node was unlinked before Retire read t, and t was read
// before the increment of the era that the scan's load follows. For each
// guard, either the scan sees its announcements, or (by the heavy fence; in
// the sequentially consistent mode by the stores themselves) every load the
// guard makes after the store the scan missed sees the unlink. A guard the
// scan saw with lo > t started its interval after the unlink; one with
// hi < b published hi before loading anything born at b or later, and each
// Load ends with an era equal to its reservation (hi, or the start that its
// first reservation moved), read after the load, so everything it returned
// was born by then. A node a guard unlinks without loading it (a Swap) is
// covered when the guard retires it: Retire raises the reservation to the
// node's birth. A later raise of hi, which the scan did not
// see, is followed by a reload that sees the unlinks, which is also why a
// snapshot stays valid for the nodes it judges, however old it grows. Get
// raises the getter's hi to the birth it gives a node before the node is
// published, so the guard that publishes a node may go on using it.
// Reading a slot's entry before its other words errs safe when the slot
// changes hands: they only grow, and a later guard's entry is never below
// an earlier guard's values.
//
// The contract this needs is hazard pointers': every load of a shared
// pointer that is dereferenced goes through Load, or is followed by
// Guard.Reserve (marked.Pointer.TryReserve for Harris lists; in a long
// traversal, Reservation.Current first, which costs two loads), and a pointer
// is used only once the load shows it was still reachable after the
// reservation: a traversal may not follow a link out of a node that may
// already be unlinked (a marked node of a Harris list) without validating,
// as the Harris-Michael list does. The reference containers follow it. A
// reader that loads without the library may see a node recycled under it:
// under the race detector the Pool's zeroing of the node in Get is then a
// data race with the read, and is reported.
//
// The bound. Let S be the participant slots, B the batch size, N the most
// nodes the structure holds, W the goroutines working on it (each holding
// at most one node it took from Get and has not published, or unlinked and
// not yet retired), and O = N + W + S·B, a bound on the lives of one Pool's
// nodes open at one moment (in the structure, in flight, or retired into an
// open batch). A guard with interval [lo, hi] can hold back a node only if
// the node was born at or before hi and retired at or after lo. The lives
// open when the era reached lo are at most O; those born in one era are at
// most O plus those retired in it, and the era advances every 16 retires of
// a slot and at every seal, so at most 16·S more: at most 2·O in all. So a
// guard G holds back at most (2·d+3)·O nodes of the Pool, d = hi − lo, and,
// since nodes are judged one by one, one old node does not hold back the
// batch it was retired with. Once the working guards have exited and Flush
// has run,
//
//	pending <= Σ_G (2·d_G+3)·O
//
// per Pool, over the guards G still open, plus what Retire and Defer
// retired while they were open (held back as in the classic mode). While
// goroutines work, add for each slot its open batches (B per Pool, and B for
// Retire; a Pool's is sealed by other slots' seals, one slot each in turn,
// while the slot's holder is not in Retire, so that a goroutine
// descheduled inside a guard keeps of it only what its own guard retired,
// until the slot opens another guard), the batch it sealed last (B per
// Pool), what its last seal or sweep found held, and what was retired
// since the newest heavy fence that seals share began (up to two gaps of
// 50 us, plus the fences; see below); and, rarely, a batch whose seal found
// the slot's batches locked by another slot's seal or a sweep judging them
// (it waits for the slot's next seal, another slot's seal or a sweep). A guard stalled after
// its loads has a fixed d, so what it holds back does not grow with time or
// with how long any goroutine stays descheduled; d grows only while a guard
// that is running keeps loading, or when a goroutine descheduled between
// two loads of one guard resumes. TestRobustBoundsPendingUnderStalledGuards
// checks the bound, and that the classic mode exceeds it. The bound assumes
// that free functions (and OnReclaim) return: one that panics ends its
// sweep, and what that sweep had not freed waits for the next.
//
// The cost. Enter and Exit are the classic ones; Load adds a load of the
// era and a compare; Retire into a Pool reads the era and, every 16 nodes,
// increments it; each Pool seal scans, reading every slot (and sorting the
// open intervals when a batch has many nodes to judge; with 64 slots or
// more, a scan updates the snapshot of the seal before it on the same
// processor instead, re-sorting only the intervals that changed, and a
// seal keeps its processor until it is done judging). With asymmetric
// fences a scan also needs a heavy fence that began after what it judges:
// the membarrier system call costs about 0.2 us when the other cores are
// idle and 12 to 14 us when every core runs a thread of the process (the
// 2-core development machine; internal/fence's BenchmarkHeavy and
// BenchmarkHeavyBusy), which is more than the work between two
// seals, so seals share fences: at most one starts every 50 us (not the
// classic mode's longer gaps of Fences: a robust seal holds what was sealed
// after the fence it shares until its slot seals again, and with a gap of
// 500 us the Pool stack at 1,024 goroutines held four times as much), run
// without giving the processor up (fence.Heavy), and each seal judges
// what was sealed before the newest one that completed, as Retire's full
// batches do. Flush, Barrier, Close and the aging timer take a fence of
// their own, as in the classic mode. Measured figures are in the README.
//
// Why 2GEIBR. Hazard eras (Ramalhete and Correia, SPAA 2017) reserve an era
// per protected pointer, which needs hazard pointers' indices in the API and
// a store per index; Hyaline-1S (Nikolaev and Ravindran, PLDI 2021) adds
// birth eras to Hyaline, whose enter and leave are atomic swaps that the
// asymmetric fence cannot make plain (see Fences). 2GEIBR keeps the
// classic announcement as its lower bound, adds words written only when the
// era has moved, and reuses the classic batches, Pool and sweeps.
//
// # Barrier and Close
//
// Barrier flushes every slot's open batch (idle slots directly; a slot
// with a guard open flushes itself when the guard exits or refreshes, or,
// if a Pool's lock is taken then, is flushed directly once idle),
// advances the epoch twice past what it flushed (in the robust mode: scans
// until nothing sealed before the flush is held), and then reclaims: it never
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
