package refcount

import (
	"reflect"
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

// enterSlot moves the handle r into slot: its record now stands for the
// slot's reference. Handles that still hold r panic when used.
func (r *record) enterSlot(slot any, op string) {
	registry.mu.Lock()
	defer registry.mu.Unlock()
	r.checkLive(op)
	r.slot, r.movedBy, r.movedAt = slot, op, callers()
	r.obj.slotRefs = append(r.obj.slotRefs, r)
}

// leaveSlot ends the record of one reference that slot held to obj: the
// slot gave it up (op) or, for ref != nil, the move of ref failed.
func (o *objTrack) leaveSlot(slot any, ref *record, op string) {
	registry.mu.Lock()
	defer registry.mu.Unlock()
	for i, r := range o.slotRefs {
		if r.slot == slot && (ref == nil || r == ref) {
			o.slotRefs = append(o.slotRefs[:i], o.slotRefs[i+1:]...)
			r.ended, r.endAt = op, callers()
			delete(registry.live, r)
			return
		}
	}
	panic("refcount: internal error: an AtomicArc gave up a reference to a " + o.typ + " that it was not recorded to hold")
}
