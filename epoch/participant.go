package epoch

import (
	"sync/atomic"

	"github.com/go-reclaim/reclaim/internal/registry"
	"github.com/go-reclaim/reclaim/internal/retire"
)

// A participant's word says what the slot is doing:
//
//	0                 idle: no guard open, the collector may take the slot
//	pin sequence<<48 | epoch   a guard is open; it entered at that epoch
//	collecting        a Barrier or Close is flushing the slot's batch
//
// Epochs start at 1, so a pinned word always has a nonzero epoch part. The
// pin sequence changes on every Enter, so a scan can tell a long-held guard
// from a series of short ones at the same epoch.
const (
	epochMask  = 1<<48 - 1
	seqShift   = 48
	seqMask    = 1<<15 - 1
	collecting = 1 << 63
)

type participant struct {
	word atomic.Uint64
	// flushed is the last flush request (Collector.flushReq) this slot has
	// honoured by handing its open batch to the collector.
	flushed atomic.Uint64

	// Diagnostics for Stats: the first time a scan saw the current pin.
	seenWord atomic.Uint64
	seenAt   atomic.Int64
	site     atomic.Pointer[enterSite] // WithGuardTracking only

	// Owned by the goroutine that holds the slot (or, while the word is
	// collecting, by the collector). The word's atomic transitions order
	// these accesses between the two.
	nest   int32  // open guards on this slot (nested Handle guards)
	pins   uint32 // pin sequence
	pinned uint64 // the epoch this slot is pinned at, owner's copy
	bag    *retire.Batch
}

type slot = registry.Slot[participant]

func pinnedEpoch(w uint64) uint64 { return w & epochMask }
