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
// is on the read path: each protection is a sequentially consistent store
// and a re-load, per object rather than per critical section.
//
// # Recycling
//
// Pool[T] recycles objects through a Domain: Retire hands an object to the
// domain and Get returns it, zeroed, once no hazard pointer protects it. A
// lock-free structure that takes its nodes from a Pool allocates nothing in
// steady state and is immune to ABA, since a node cannot come back while a
// reader that might compare against it still protects it.
//
// # The bound
//
// Objects are retired into per-processor batches of 64; a full batch is
// sealed and counted in Stats.Pending. When Pending reaches Threshold =
// max(WithThreshold, WithThresholdPerSlot × Slots) (default max(1000,
// 2 × Slots)), the goroutine that sealed the batch scans before Retire
// returns: it takes every sealed batch, reclaims what no slot protects
// (all but at most one object per slot), and puts the rest back. Scans run
// concurrently, and a Barrier or Close takes its own list without stopping
// them, so no reader can hold more back than the objects it protects:
//
//	Pending <= Threshold + (S+1) × W × (64 + 2 × Slots)
//
// at every moment, where W is the number of goroutines inside Retire,
// Barrier or Close at once (a free function that retires counts as one
// more) and S <= W the number of scans in progress. The proof: objects
// sealed while Pending < Threshold number fewer than Threshold in all (at
// the latest such seal, all of them were pending and counted). Every other
// batch is followed by its sealer's own scan, so between two scans' takes
// each goroutine adds at most one such batch to the sealed list, and at
// most W finished scans put back at most Slots protected objects each;
// each scan in progress holds what the list held when it took it, and a
// Barrier's list also gets back what the scans it waits for keep. None of
// this depends on how long a reader holds a protection. In practice a scan
// rarely overlaps another: the stalled-reader test (bound_test.go, four
// goroutines retiring a million objects) sees PeakPending near Threshold +
// 64 × 2W and asserts the bound above. At most 63 × GOMAXPROCS more
// objects wait in unsealed batches, not counted. Stats.PeakPending records
// the highest Pending.
//
// # Guarantees (Go memory model)
//
// If Protect (or a successful TryProtect) returns an object before it is
// unlinked, every access made through that hazard pointer until its next
// Reset, Release or protection is synchronized before the object's free
// function runs. Everything written before Retire is synchronized before
// the free function too. Each free function runs exactly once: at the
// latest during Close.
//
// Domain and Stats are safe for concurrent use; a Pointer or Array belongs
// to one goroutine at a time.
//
// # Misuse
//
// Misuse panics with a message naming it: a nil pointer or free function,
// any use of a released Pointer, Acquire or Retire after Close. Barrier
// returns ctx.Err() when its context ends; Close returns an error wrapping
// ErrProtected while objects are still protected. A free function may
// panic: the panic reaches the caller that ran it (Retire, Barrier or
// Close), and every other pending object is still reclaimed.
//
// # Implementation
//
// Hazard slots live in the same never-moving registry as epoch's
// participant slots (internal/registry), so a scan needs no lock and
// Acquire is a per-processor cache hit in steady state. Protect's
// publication is an atomic store (XCHG on amd64): it must be ordered
// before the re-load. Reset needs only release order and is a plain store on
// amd64 and arm64 (internal/release). A scan snapshots the published
// addresses, sorts them, and sweeps the sealed batches with the same
// panic-safe sweep as package epoch (internal/retire).
package hazard
