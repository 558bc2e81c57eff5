package refcount

import (
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
)

// trackingOn is read once per NewArc and NewRc; handles of values made
// while it is off carry no record, so their operations pay one nil check.
var trackingOn atomic.Bool

// SetTracking turns handle tracking on or off and returns the previous
// setting. It affects values made from then on: every handle of a value
// made while tracking is on (Arc, Weak, Guard, Rc, RcWeak, and the
// reference an AtomicArc holds) records the stack where it was made, Find
// and VerifyNone list the ones still live, and misuse panics name both the
// offending operation and the earlier one it conflicts with. A tracked
// handle costs an allocation, a stack capture and a global lock per
// operation: turn it on in tests (VerifyTestMain does), not in production.
// Values made while it is off are never tracked. Safe for concurrent use.
func SetTracking(on bool) (was bool) { return trackingOn.Swap(on) }

// Tracking reports whether tracking is on for values made now.
func Tracking() bool { return trackingOn.Load() }

// objTrack is the tracking state of one tracked value.
type objTrack struct {
	typ string // the value's type: "pkg.Config"
	// Guarded by registry.mu: where the strong and weak counts reached zero.
	strongZero, weakZero stack
	// Guarded by registry.mu: the records of the references AtomicArcs hold.
	slotRefs []*record
}

func newObjTrack(t reflect.Type) *objTrack { return &objTrack{typ: t.String()} }

// A record follows one handle (and all its copies) from where it was made
// to where it was given up.
type record struct {
	obj  *objTrack
	kind string // "Arc", "Weak", "Guard", "Rc", "RcWeak"
	made string // the operation that made it: "NewArc", "Clone", ...
	seq  uint64
	at   stack
	// Guarded by registry.mu.
	slot    any    // the AtomicArc holding the reference, once moved there
	movedBy string // the operation that moved it there
	movedAt stack
	ended   string // how it was given up; "" while live
	endAt   stack
}

// registry is every live tracked record.
var registry struct {
	mu   sync.Mutex
	seq  uint64
	live map[*record]struct{}
}

// track makes a record for a new handle of obj; nil if obj is untracked.
// It is small enough to inline, so untracked handles pay a nil check.
func track(obj *objTrack, kind, made string) *record {
	if obj == nil {
		return nil
	}
	return newRecord(obj, kind, made)
}

func newRecord(obj *objTrack, kind, made string) *record {
	r := &record{obj: obj, kind: kind, made: made, at: callers()}
	registry.mu.Lock()
	defer registry.mu.Unlock()
	registry.seq++
	r.seq = registry.seq
	if registry.live == nil {
		registry.live = map[*record]struct{}{}
	}
	registry.live[r] = struct{}{}
	return r
}

// use panics if r's handle was already given up; op names the operation.
// A nil r (an untracked handle) costs a nil check.
func (r *record) use(op string) {
	if r != nil {
		r.useTracked(op)
	}
}

func (r *record) useTracked(op string) {
	registry.mu.Lock()
	defer registry.mu.Unlock()
	r.checkLive(op)
}

func (r *record) checkLive(op string) {
	if r.ended == "" && r.slot == nil {
		return
	}
	how, at := "by "+r.ended, r.endAt
	if r.slot != nil {
		how, at = "by moving it into an AtomicArc with "+r.movedBy, r.movedAt
	}
	panic("refcount: " + op + " of " + r.describe() + " handle already given up " + how + "\n\nthis " + op + ":\n" +
		callers().String() + "\nwhere it was given up:\n" + at.String() + r.zeroStacks() +
		"\nwhere the handle was made (" + r.made + "):\n" + r.at.String())
}

// end gives r's handle up (Release): it panics, with both stacks, if the
// handle was already given up. A nil r costs a nil check.
func (r *record) end(op string) {
	if r != nil {
		r.endTracked(op)
	}
}

func (r *record) endTracked(op string) {
	registry.mu.Lock()
	defer registry.mu.Unlock()
	r.checkLive(op)
	r.ended, r.endAt = op, callers()
	delete(registry.live, r)
}

// describe names the handle's type: "Weak[pkg.Config]".
func (r *record) describe() string { return r.kind + "[" + r.obj.typ + "]" }

// zeroStacks reports where the count r's handle holds (strong or weak)
// reached zero, if it did.
func (r *record) zeroStacks() string {
	at, count := r.obj.strongZero, "strong"
	if strings.HasSuffix(r.kind, "Weak") {
		at, count = r.obj.weakZero, "weak"
	}
	if at == nil {
		return ""
	}
	return "\nthe release that took the " + count + " count to zero:\n" + at.String()
}

// reachedZero records where a tracked value's strong (or weak) count
// reached zero, for a later release past zero to report.
func (o *objTrack) reachedZero(weak bool) {
	if o == nil {
		return
	}
	at := callers()
	registry.mu.Lock()
	defer registry.mu.Unlock()
	if weak {
		o.weakZero = at
	} else {
		o.strongZero = at
	}
}

// zeroAt returns where the strong (or weak) count reached zero; nil for an
// untracked value.
func (o *objTrack) zeroAt(weak bool) stack {
	if o == nil {
		return nil
	}
	registry.mu.Lock()
	defer registry.mu.Unlock()
	if weak {
		return o.weakZero
	}
	return o.strongZero
}

// The records of the references AtomicArcs hold. o.slotRefs lists, for
// every slot holding a reference to o's value, the records of those
// references in the order in which they were published, and only
// published ones: a write whose publication is still to come, or failed,
// is not listed. Writes of a tracked handle (moveIntoSlot) publish under
// registry.mu, so for one slot and one value the list order is the order
// of the publications in the slot's atomic pointer.
//
// Which record a write that gave up a reference to o's value must end:
//
//   - A write of a tracked handle gave the reference up with the same
//     atomic operation that published its own, under registry.mu. No other
//     publication of the value into the slot can come between the
//     publication that put the reference there and this one (those
//     publications hold the lock), so the reference it gave up is the one
//     of the newest record listed for the slot: dropSlotRef(newest).
//   - A write of an untracked handle (or of the zero Arc) takes the lock
//     only after its atomic operation, so a publication of the value may
//     have been listed after the one it displaced. Every reference listed
//     before the current one is one that some write has displaced but not
//     yet accounted for; the current one, if the slot still holds the
//     value, is listed last. So the oldest record listed for the slot is a
//     displaced one, and ending it keeps the list exact: afterwards it
//     holds the records of exactly the references not yet accounted for
//     (two such writes racing may end each other's records, which differ
//     only in their stacks, and both records end).

// moveIntoSlot moves the handle r into slot. publish puts the handle's
// reference there with one atomic operation and returns whether it did
// (a CompareAndSwap may fail) and the tracking state of the value whose
// reference the slot gave up in exchange (nil for none or an untracked
// value). publish runs under registry.mu and must not block. If it fails,
// r's handle counts as released by op; the caller releases the reference.
func (r *record) moveIntoSlot(slot any, op string, publish func() (gaveUp *objTrack, ok bool)) bool {
	at := callers()
	registry.mu.Lock()
	defer registry.mu.Unlock()
	r.checkLive(op)
	gaveUp, ok := publish()
	if !ok {
		r.ended, r.endAt = op+" (failed, released)", at
		delete(registry.live, r)
		return false
	}
	r.slot, r.movedBy, r.movedAt = slot, op, at
	if gaveUp != nil {
		gaveUp.dropSlotRef(slot, true, "given up by AtomicArc."+op, at)
	}
	r.obj.slotRefs = append(r.obj.slotRefs, r)
	return true
}

// leaveSlot ends the record of the reference to o's value that slot gave
// up in a write of an untracked handle (op), after that write.
func (o *objTrack) leaveSlot(slot any, op string) {
	at := callers()
	registry.mu.Lock()
	defer registry.mu.Unlock()
	o.dropSlotRef(slot, false, "given up by AtomicArc."+op, at)
}

// dropSlotRef ends the newest (or the oldest) record listed for slot.
// Called with registry.mu held.
func (o *objTrack) dropSlotRef(slot any, newest bool, how string, at stack) {
	i, found := -1, false
	for j, r := range o.slotRefs {
		if r.slot == slot {
			i, found = j, true
			if !newest {
				break
			}
		}
	}
	if !found {
		panic("refcount: internal error: an AtomicArc gave up a reference to a " + o.typ + " that it was not recorded to hold")
	}
	r := o.slotRefs[i]
	o.slotRefs = slices.Delete(o.slotRefs, i, i+1)
	r.ended, r.endAt = how, at
	delete(registry.live, r)
}
