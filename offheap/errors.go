package offheap

import (
	"errors"
	"fmt"
	"strings"
)

// Errors returned by this package. Test for them with errors.Is: the errors
// returned wrap them with the operation and the handle concerned, and in
// checked mode (WithChecks) with the call stacks involved (see *MisuseError).
var (
	// ErrFull: the slab has handed out its whole capacity and no freed slot
	// has finished its grace period yet.
	ErrFull = errors.New("offheap: memory limit reached")
	// ErrStale: the handle does not name a live allocation. Either it was
	// freed (use after free), or it was never returned by Alloc (forged or
	// zero). Handles carry no slab identity: one from another slab may
	// resolve to a live slot here.
	ErrStale = errors.New("offheap: stale or invalid handle")
	// ErrDoubleFree: Free of a handle that was already freed.
	ErrDoubleFree = errors.New("offheap: double free")
	// ErrClosed: the slab has been closed.
	ErrClosed = errors.New("offheap: use after Close")
	// ErrPointers: the element type contains Go pointers, which the garbage
	// collector would not see in memory it does not scan.
	ErrPointers = errors.New("offheap: element type contains Go pointers")
	// ErrSize: a size or capacity is zero, negative or too large.
	ErrSize = errors.New("offheap: invalid size")
	// ErrLeaked: in checked mode, Close found allocations never freed.
	ErrLeaked = errors.New("offheap: allocations leaked")
	// ErrCorrupted: in checked mode, the poison of a freed slot was
	// overwritten before the slot was reused: something wrote through a
	// pointer after its Free and grace period (write after free). In any
	// mode, the header of a free slot was overwritten (a write past the
	// end of the value before it): its free-list link is not followed.
	ErrCorrupted = errors.New("offheap: freed memory was written")
)

// MisuseError reports a stale handle, a double free or a write after free.
// Err is ErrStale, ErrDoubleFree or ErrCorrupted; errors.Is sees it. In checked
// mode the stacks say where the slot was allocated, where it was freed and
// where it was misused; without checked mode they are empty.
type MisuseError struct {
	Err    error  // ErrStale, ErrDoubleFree or ErrCorrupted
	Op     string // "Get" (Arena.Bytes of a stale Ref too), "Bytes" (of a forged Ref), "Free" or "Alloc"
	Handle Handle // the handle passed (for ErrCorrupted, the slot's last handle)
	Detail string // what is wrong with the handle

	AllocatedAt string // checked mode: stack of the Alloc that returned Handle
	FreedAt     string // checked mode: stack of the Free of Handle
	UsedAt      string // checked mode: stack of this call (empty for ErrCorrupted: the Alloc that found it is not the culprit)
}

func (e *MisuseError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%v: %s %v", e.Err, e.Op, e.Handle)
	if e.Detail != "" {
		b.WriteString(": ")
		b.WriteString(e.Detail)
	}
	for _, s := range [...]struct{ name, stack string }{
		{"allocated at", e.AllocatedAt}, {"freed at", e.FreedAt}, {"used at", e.UsedAt},
	} {
		if s.stack != "" {
			fmt.Fprintf(&b, "\n%s:\n%s", s.name, s.stack)
		}
	}
	return b.String()
}

func (e *MisuseError) Unwrap() error { return e.Err }

// Leak is one allocation still live at Close in checked mode.
type Leak struct {
	Handle      Handle
	AllocatedAt string
}

// LeakError reports, in checked mode, allocations never freed: the error
// Close returns then wraps one (get it with errors.As), possibly joined
// with an error of unmapping. It wraps ErrLeaked. The memory is returned to the OS all the same.
type LeakError struct {
	Leaks []Leak // sorted by slot index
}

func (e *LeakError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%v: %d still allocated at Close", ErrLeaked, len(e.Leaks))
	const maxShown = 10
	for i, l := range e.Leaks {
		if i == maxShown {
			fmt.Fprintf(&b, "\n... and %d more", len(e.Leaks)-maxShown)
			break
		}
		fmt.Fprintf(&b, "\n%v allocated at:\n%s", l.Handle, l.AllocatedAt)
	}
	return b.String()
}

func (e *LeakError) Unwrap() error { return ErrLeaked }
