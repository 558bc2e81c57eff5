package hazard

import (
	"unsafe"

	"github.com/go-reclaim/reclaim/internal/fence"
	"github.com/go-reclaim/reclaim/internal/retire"
)

// Reclaim frees p at once, with free on the calling goroutine, if no hazard
// pointer of d protects it, and otherwise retires it as Retire does; it
// reports whether it freed p. The caller must already have unlinked p, as
// for Retire.
//
// It is Retire followed by Flush for one object that must be released
// promptly (a replaced configuration, a snapshot holding a file), at a
// fraction of the cost: one heavy fence where fences are asymmetric (none
// on the sequentially consistent path) and a read of every hazard slot,
// with no batch, no hand-over and no scan of what else is pending. An
// object freed at once counts in Stats.Retired and Stats.Reclaimed, never
// in Pending; one that is protected is retired, and freed like any other
// once the protection ends.
//
// Ordering: the heavy fence begins after the caller's unlink. A Protect
// that returns p published its hazard pointer and then read p again from
// its source, before the unlink: either the publication precedes the fence
// and the read of the slots sees it, or the reader's second read comes
// after the fence and so after the unlink, and Protect does not return p
// (on the sequentially consistent path, the order of the publication and
// the unlink decides it the same way). So free runs only once no reader
// can use p, and every access made through a protection of p that ended
// before Reclaim is synchronized before free(p).
//
// free runs before Reclaim returns, outside any sweep of d: Close does not
// wait for it, and a free function that Retires into d after Close panics.
// A panic from free propagates out of Reclaim (p counts as reclaimed).
// Reclaim panics if p or free is nil or if d is closed, as Retire does.
func Reclaim[T any](d *Domain, p *T, free func(*T)) (freed bool) {
	mustRetire(p)
	if free == nil {
		panic("hazard: Reclaim with a nil free function")
	}
	d.checkOpen("Reclaim")
	if d.protects(uintptr(unsafe.Pointer(p))) {
		d.retire(retire.Of(p, free))
		return false
	}
	defer d.atOnce.Add(1) // once free has returned (or panicked), as a scan counts
	free(p)
	return true
}

// protects reports whether a hazard slot of d holds addr, read after a heavy
// fence that begins now (see Reclaim).
func (d *Domain) protects(addr uintptr) bool {
	fence.Heavy()
	for sl := range d.slots.All() {
		if sl.Value.addr.Load() == addr {
			return true
		}
	}
	return false
}
