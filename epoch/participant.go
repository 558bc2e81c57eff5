package epoch

import (
	"sync/atomic"

	"github.com/go-reclaim/reclaim/internal/registry"
	"github.com/go-reclaim/reclaim/internal/retire"
)

type participant struct {
	// word is 0 while no guard is open, else the epoch the open guard
	// entered at (epochs start at 1). The holder writes it: an
	// announcement (see announce), a clear with a release store.
	word atomic.Uint64
	// hi is, in the robust mode, the newest era the open guard has
	// reserved (Reserve, Load): it protects the objects born up to it. The
	// holder writes it with an announcement; a scan reads max(word, hi),
	// since a value left by an earlier guard is never above word.
	hi atomic.Uint64
	// from is, in the robust mode, where a guard's first reservation moved
	// the start of its interval for Pool nodes (see reserve); a scan reads
	// max(word, from). word itself stays the entry era, which holds back
	// objects retired with Retire and Defer as in the classic mode.
	from atomic.Uint64
	// claim is nonzero while a collector (Barrier, Close, Flush or the
	// aging tick) takes the idle slot to flush its batches: the token of
	// that collector's pass. See takeIdle for the protocol.
	claim atomic.Uint32
	// flushed is the last flush request (Collector.flushReq) this slot has
	// honoured by handing its open batch to the collector.
	flushed atomic.Uint64
	// retired counts the objects retired through this slot (Retire, Defer,
	// Pool.Retire), for Stats. Only the slot's holder writes it, with a
	// release store (a plain store on amd64 and arm64).
	retired atomic.Uint64
	// pin identifies the outermost guard open on the slot, or the last one:
	// it grows at every outermost Enter (by one, and by one more when the
	// Enter fails) and Refresh (by two), and is published before each
	// announcement, so that Stats can tell one long guard from many short
	// ones at the same epoch, and the robust Pool which guard retired a
	// batch; its parity chooses the guard's cell (see outerFor). Only the
	// slot's holder writes it.
	pin atomic.Uint64

	// Diagnostics for Stats: the first time a scan saw the current pin.
	seenPin atomic.Uint64
	seenAt  atomic.Int64
	site    atomic.Pointer[enterSite] // WithGuardTracking only

	// Owned by the goroutine that holds the slot, or by a collector while
	// it has claimed the idle slot; the claim protocol orders the two.
	// nest counts the guards open on this slot besides the first (a
	// Handle's nested guards); word is nonzero while any is open (the
	// first may exit before the others).
	nest int32
	// handle is set while a Handle holds the slot, which keeps it; other
	// holders (Collector.Enter) give it back at Exit. Exit's common case
	// reads the same from the guard's state (openHandle or openPooled);
	// exitSlow and a failed Enter read it here.
	handle bool
	// reserved is hi's value for the open guard, the owner's copy; 0 while
	// the guard has neither reserved nor retired anything (robust mode).
	reserved uint64
	bag      *retire.Batch
	cells    guardCells // the Guards that Enter returns (see guardCells)
}

type slot = registry.Slot[participant]
