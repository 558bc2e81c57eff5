package epoch

import (
	"sync/atomic"

	"github.com/go-reclaim/reclaim/internal/registry"
	"github.com/go-reclaim/reclaim/internal/retire"
)

// A participant's word says what the slot is doing:
//
//	0           idle: no guard open, the collector may take the slot
//	epoch       a guard is open; it entered at that epoch (epochs start at 1)
//	collecting  a Barrier, Close or aging tick is flushing the slot's batch
const collecting = 1 << 63

type participant struct {
	word atomic.Uint64
	// flushed is the last flush request (Collector.flushReq) this slot has
	// honoured by handing its open batch to the collector.
	flushed atomic.Uint64
	// retired counts the objects retired through this slot (Retire, Defer,
	// Pool.Retire), for Stats. Only the slot's holder writes it, with a
	// release store (a plain store on amd64 and arm64).
	retired atomic.Uint64
	// pin counts the guards opened on this slot, published before each
	// announcement so that Stats can tell one long guard from many short
	// ones at the same epoch. Only the slot's holder writes it.
	pin atomic.Uint64

	// Diagnostics for Stats: the first time a scan saw the current pin.
	seenPin atomic.Uint64
	seenAt  atomic.Int64
	site    atomic.Pointer[enterSite] // WithGuardTracking only

	// Owned by the goroutine that holds the slot (or, while the word is
	// collecting, by the collector). The word's atomic transitions order
	// these accesses between the two.
	nest   int32  // open guards on this slot (nested Handle guards)
	pinned uint64 // the epoch this slot is pinned at, owner's copy
	bag    *retire.Batch
}

type slot = registry.Slot[participant]
