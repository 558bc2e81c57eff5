package refcount_test

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/go-reclaim/reclaim/refcount"
)

// TestModelArc drives Arc, Weak, AtomicArc and Guard handles of a few
// values from one goroutine through random operations and compares them,
// after every step, with a model that counts, per value, the strong
// handles, the Weak handles, the AtomicArc slots holding it and the slot
// references given up but possibly not yet released (pending):
//
//   - the destructor runs at most once, only once no handle and no slot
//     holds the value, and never while a Guard borrows it;
//   - the real strong count lies between handles+slots and
//     handles+slots+pending (the hazard domain releases pending references
//     when it likes, also on its aging timer's goroutine), and it is zero
//     exactly when the destructor has run (or is about to, on the timer);
//   - WeakCount is exact; Upgrade succeeds exactly while the value lives;
//     Load, Borrow, Swap, CompareAndSwap and RCU see what the model's slots
//     hold;
//   - Barrier releases every pending reference, or, when a Guard borrows a
//     value with one, times out and releases all the others;
//   - with tracking on (drawn per run), Find lists exactly the live handles,
//     and nothing once everything is released.
//
// At the end everything is released and every value must have been
// destroyed exactly once.
func TestModelArc(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		m := &arcModel{countModel: countModel[refcount.Arc[int], refcount.Weak[int]]{kit: arcKit}}
		m.liveExtra = m.tracedExtra
		defer m.cleanup()
		m.run(rt, map[string]func(*rapid.T){
			"store":        m.store,
			"swap":         m.swap,
			"cas":          m.cas,
			"rcu":          m.rcu,
			"load":         m.load,
			"borrow":       m.borrow,
			"guardClone":   m.guardClone,
			"guardRelease": m.guardRelease,
			"barrier":      m.barrier,
			"":             m.check,
		}, m.finish)
	})
}

// TestModelRc is TestModelArc's handle part for Rc and RcWeak, whose
// counts the model knows exactly.
func TestModelRc(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		m := &countModel[refcount.Rc[int], refcount.RcWeak[int]]{kit: rcKit}
		defer m.cleanup()
		m.run(rt, map[string]func(*rapid.T){"": m.check}, m.finish)
	})
}

const (
	modelSlots     = 2
	modelMaxValues = 4
	modelMaxArcs   = 8
	modelMaxGuards = 3
)

// modelValue is the model of one value.
type modelValue struct {
	id                    int
	handles, weaks, slots int
	pending               int // slot references given up, maybe not yet released
	// Read by the destructor, which may run on the hazard domain's aging
	// timer: lowered before the Guard is released.
	guards atomic.Int32 // Guards borrowing it
	// Written by the destructor.
	destroyed              atomic.Int32
	destroyedWhileBorrowed atomic.Bool
}

// settled returns, at one moment, whether v was destroyed and its strong
// count. A count of zero with the destructor not yet run means that the
// aging timer's goroutine is about to run it: settled waits for that.
func settled(t *rapid.T, v *modelValue, count func() int) (destroyed int32, real int) {
	deadline := time.Now().Add(10 * time.Second)
	for {
		destroyed = v.destroyed.Load()
		real = count()
		if destroyed == 0 && real == 0 {
			require.True(t, time.Now().Before(deadline), "value %d: count zero but not destroyed", v.id)
			runtime.Gosched()
			continue
		}
		if v.destroyed.Load() == destroyed {
			return destroyed, real
		}
	}
}

type modelHandle[H any] struct {
	h H
	v *modelValue
}

// countModel is the model of strong and weak handles, shared by Arc and Rc.
type countModel[H, W any] struct {
	kit       kit[H, W]
	tracked   bool
	values    []*modelValue
	observers []W // one Weak per value, to read its counts
	handles   []modelHandle[H]
	weaks     []modelHandle[W]
	// liveExtra counts tracked handles the count model does not know of
	// (AtomicArc references and Guards).
	liveExtra func() int
}

// run draws tracking, runs the handle actions plus more, and finishes.
func (m *countModel[H, W]) run(t *rapid.T, more map[string]func(*rapid.T), finish func(*rapid.T)) {
	m.tracked = rapid.Bool().Draw(t, "tracked")
	was := refcount.SetTracking(m.tracked)
	defer refcount.SetTracking(was)
	actions := map[string]func(*rapid.T){
		"new":         m.new,
		"clone":       m.clone,
		"release":     m.release,
		"downgrade":   m.downgrade,
		"weakClone":   m.weakClone,
		"weakRelease": m.weakRelease,
		"upgrade":     m.upgrade,
	}
	for k, f := range more {
		actions[k] = f
	}
	t.Repeat(actions)
	finish(t)
}

func (m *countModel[H, W]) new(t *rapid.T) {
	if len(m.values) >= modelMaxValues || len(m.handles) >= modelMaxArcs {
		t.Skip("enough values")
	}
	m.newValue()
}

func (m *countModel[H, W]) newValue() {
	v := &modelValue{id: len(m.values) + 1}
	h := m.kit.make(v.id, func(p *int) {
		if *p != v.id {
			panic(fmt.Sprintf("value %d: destructor saw %d", v.id, *p))
		}
		v.destroyed.Add(1)
		if v.guards.Load() > 0 {
			v.destroyedWhileBorrowed.Store(true)
		}
	})
	m.values = append(m.values, v)
	m.observers = append(m.observers, m.kit.downgrade(h))
	v.weaks++
	m.add(h, v)
}

// pick draws an index into a list of n, skipping the step if it is empty.
func pick(t *rapid.T, n int, what string) int {
	if n == 0 {
		t.Skip("no " + what)
	}
	return rapid.IntRange(0, n-1).Draw(t, what)
}

// someHandle draws the index of a strong handle, making a new value first
// if there is none: rapid gives up on runs where every step is skipped.
func (m *countModel[H, W]) someHandle(t *rapid.T) int {
	if len(m.handles) == 0 {
		m.newValue()
	}
	return pick(t, len(m.handles), "handle")
}

// someWeak draws the index of a Weak handle, making one if there is none.
func (m *countModel[H, W]) someWeak(t *rapid.T) int {
	if len(m.weaks) == 0 {
		h := m.handles[m.someHandle(t)]
		m.weaks = append(m.weaks, modelHandle[W]{m.kit.downgrade(h.h), h.v})
		h.v.weaks++
	}
	return pick(t, len(m.weaks), "weak")
}

// take removes and returns a drawn strong handle: the caller releases it
// or moves it into a slot.
func (m *countModel[H, W]) take(t *rapid.T) modelHandle[H] {
	i := m.someHandle(t)
	h := m.handles[i]
	m.handles = slices.Delete(m.handles, i, i+1)
	h.v.handles--
	return h
}

func (m *countModel[H, W]) add(h H, v *modelValue) {
	m.handles = append(m.handles, modelHandle[H]{h, v})
	v.handles++
}

func (m *countModel[H, W]) clone(t *rapid.T) {
	if len(m.handles) >= modelMaxArcs {
		t.Skip("enough handles")
	}
	h := m.handles[m.someHandle(t)]
	m.add(m.kit.clone(h.h), h.v)
}

func (m *countModel[H, W]) release(t *rapid.T) {
	h := m.take(t)
	m.kit.release(&h.h)
	require.True(t, m.kit.isZero(h.h), "Release zeroes the handle")
}

func (m *countModel[H, W]) downgrade(t *rapid.T) {
	h := m.handles[m.someHandle(t)]
	m.weaks = append(m.weaks, modelHandle[W]{m.kit.downgrade(h.h), h.v})
	h.v.weaks++
}

func (m *countModel[H, W]) weakClone(t *rapid.T) {
	w := m.weaks[m.someWeak(t)]
	m.weaks = append(m.weaks, modelHandle[W]{m.kit.weakClone(w.h), w.v})
	w.v.weaks++
}

func (m *countModel[H, W]) weakRelease(t *rapid.T) {
	i := m.someWeak(t)
	w := m.weaks[i]
	m.weaks = slices.Delete(m.weaks, i, i+1)
	m.kit.weakRelease(&w.h)
	w.v.weaks--
}

func (m *countModel[H, W]) upgrade(t *rapid.T) {
	w := m.weaks[m.someWeak(t)]
	h, ok := m.kit.upgrade(w.h)
	destroyed, _ := settled(t, w.v, func() int { return m.kit.strongCount(w.h) })
	require.Equal(t, destroyed == 0, ok, "Upgrade of value %d (destroyed %d times)", w.v.id, destroyed)
	if ok {
		require.Equal(t, w.v.id, *m.kit.value(h))
		m.add(h, w.v)
	}
}

// check compares every value with the model, and learns from the real
// strong count how many pending references the hazard domain has released.
func (m *countModel[H, W]) check(t *rapid.T) {
	live := len(m.handles)
	for i, v := range m.values {
		destroyed, real := settled(t, v, func() int { return m.kit.strongCount(m.observers[i]) })
		require.LessOrEqual(t, destroyed, int32(1), "value %d destroyed twice", v.id)
		require.False(t, v.destroyedWhileBorrowed.Load(), "value %d destroyed while a Guard borrowed it", v.id)
		held := v.handles + v.slots
		require.Equal(t, v.weaks, m.kit.weakCount(m.observers[i]), "value %d: WeakCount", v.id)
		if destroyed == 1 {
			require.Zero(t, held, "value %d destroyed while %d handles and slots hold it", v.id, held)
			require.Zero(t, real, "value %d: StrongCount after destruction", v.id)
			v.pending = 0
		} else {
			require.GreaterOrEqual(t, real, held, "value %d: StrongCount below its handles and slots", v.id)
			require.LessOrEqual(t, real, held+v.pending, "value %d: StrongCount above handles, slots and pending", v.id)
			require.NotZero(t, real, "value %d: count zero but not destroyed", v.id)
			v.pending = real - held
		}
		live += v.weaks
	}
	if m.liveExtra != nil {
		live += m.liveExtra()
	}
	if m.tracked {
		m.expectTracked(t, live)
	}
}

func (m *countModel[H, W]) expectTracked(t *rapid.T, live int) {
	err := refcount.Find()
	if live == 0 {
		require.NoError(t, err)
		return
	}
	require.Error(t, err)
	require.Contains(t, err.Error(), fmt.Sprintf("refcount: %d tracked handle(s) still live", live))
}

// finish releases every handle, checks that every value was destroyed
// exactly once, and that nothing tracked is left.
func (m *countModel[H, W]) finish(t *rapid.T) {
	for _, h := range m.handles {
		m.kit.release(&h.h)
		h.v.handles--
	}
	m.handles = nil
	for _, w := range m.weaks {
		m.kit.weakRelease(&w.h)
		w.v.weaks--
	}
	m.weaks = nil
	m.check(t)
	for i, v := range m.values {
		require.EqualValues(t, 1, v.destroyed.Load(), "value %d at the end", v.id)
		m.kit.weakRelease(&m.observers[i])
		v.weaks--
	}
	m.observers = nil
	if m.tracked {
		m.expectTracked(t, 0)
	}
}

// cleanup releases whatever a run that failed or was cut short left, so
// that the next run starts with no tracked handle live.
func (m *countModel[H, W]) cleanup() {
	for _, h := range m.handles {
		m.kit.release(&h.h)
	}
	for _, w := range m.weaks {
		m.kit.weakRelease(&w.h)
	}
	for i := range m.observers {
		m.kit.weakRelease(&m.observers[i])
	}
	m.handles, m.weaks, m.observers = nil, nil, nil
}

// arcModel adds AtomicArc slots and Guards to the Arc handles.
type arcModel struct {
	countModel[refcount.Arc[int], refcount.Weak[int]]
	guards []modelGuard
	slots  [modelSlots]refcount.AtomicArc[int]
	held   [modelSlots]*modelValue
}

type modelGuard struct {
	g *refcount.Guard[int]
	v *modelValue // nil: borrowed from an empty slot
}

func (m *arcModel) slot(t *rapid.T) int { return rapid.IntRange(0, modelSlots-1).Draw(t, "slot") }

// give draws the Arc a slot operation takes: a handle (moved) or zero.
func (m *arcModel) give(t *rapid.T) (refcount.Arc[int], *modelValue) {
	if len(m.handles) == 0 || rapid.IntRange(0, 4).Draw(t, "zero") == 0 {
		return refcount.Arc[int]{}, nil
	}
	h := m.take(t)
	return h.h, h.v
}

// replace updates the model for slot k now holding v instead of old.
func (m *arcModel) replace(k int, v *modelValue) (old *modelValue) {
	old = m.held[k]
	if old != nil {
		old.slots--
		old.pending++
	}
	if v != nil {
		v.slots++
	}
	m.held[k] = v
	return old
}

func (m *arcModel) store(t *rapid.T) {
	k := m.slot(t)
	a, v := m.give(t)
	m.slots[k].Store(a)
	m.replace(k, v)
}

func (m *arcModel) swap(t *rapid.T) {
	k := m.slot(t)
	a, v := m.give(t)
	got := m.slots[k].Swap(a)
	old := m.replace(k, v)
	expectValue(t, got, old, "Swap")
	if old != nil {
		m.add(got, old)
	}
}

func (m *arcModel) cas(t *rapid.T) {
	k := m.slot(t)
	var old refcount.Arc[int]
	var oldV *modelValue
	if len(m.handles) > 0 && rapid.Bool().Draw(t, "old is a handle") {
		h := m.handles[rapid.IntRange(0, len(m.handles)-1).Draw(t, "old")]
		old, oldV = h.h, h.v
	}
	a, v := m.give(t)
	swapped := m.slots[k].CompareAndSwap(old, a)
	require.Equal(t, m.held[k] == oldV, swapped, "CompareAndSwap on slot %d", k)
	if swapped {
		m.replace(k, v)
	}
}

func (m *arcModel) rcu(t *rapid.T) {
	k := m.slot(t)
	a, v := m.give(t)
	calls := 0
	got := m.slots[k].RCU(func(cur *int) refcount.Arc[int] {
		calls++
		if held := m.held[k]; held == nil {
			require.Nil(t, cur, "RCU of an empty slot")
		} else {
			require.Equal(t, held.id, *cur, "RCU's update")
		}
		return a
	})
	require.Equal(t, 1, calls, "RCU with no other writer")
	old := m.replace(k, v)
	expectValue(t, got, old, "RCU")
	if old != nil {
		m.add(got, old)
	}
}

func expectValue(t *rapid.T, a refcount.Arc[int], v *modelValue, op string) {
	if v == nil {
		require.True(t, a.IsZero(), "%s of an empty slot", op)
		return
	}
	require.False(t, a.IsZero(), "%s", op)
	require.Equal(t, v.id, *a.Value(), "%s", op)
}

func (m *arcModel) load(t *rapid.T) {
	if len(m.handles) >= modelMaxArcs {
		t.Skip("enough handles")
	}
	k := m.slot(t)
	a := m.slots[k].Load()
	expectValue(t, a, m.held[k], "Load")
	if v := m.held[k]; v != nil {
		m.add(a, v)
	}
}

func (m *arcModel) borrow(t *rapid.T) {
	if len(m.guards) >= modelMaxGuards {
		t.Skip("enough guards")
	}
	k := m.slot(t)
	g := new(refcount.Guard[int])
	*g = m.slots[k].Borrow()
	v := m.held[k]
	if v == nil {
		require.Nil(t, g.Value())
	} else {
		require.Equal(t, v.id, *g.Value())
		v.guards.Add(1)
	}
	m.guards = append(m.guards, modelGuard{g, v})
}

func (m *arcModel) guardClone(t *rapid.T) {
	g := m.guards[pick(t, len(m.guards), "guard")]
	a := g.g.Clone()
	expectValue(t, a, g.v, "Guard.Clone")
	if g.v != nil {
		m.add(a, g.v)
	}
}

func (m *arcModel) guardRelease(t *rapid.T) {
	i := pick(t, len(m.guards), "guard")
	g := m.guards[i]
	m.guards = slices.Delete(m.guards, i, i+1)
	if g.v != nil {
		g.v.guards.Add(-1) // first: the aging timer may destroy it once released
	}
	g.g.Release()
}

func (m *arcModel) barrier(t *rapid.T) {
	blocked := false
	for _, g := range m.guards {
		blocked = blocked || g.v != nil && g.v.pending > 0
	}
	timeout := 10 * time.Second
	if blocked {
		timeout = time.Millisecond
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	err := refcount.Barrier(ctx)
	if blocked {
		require.ErrorIs(t, err, context.DeadlineExceeded, "Barrier while a Guard borrows a value with a pending reference")
	} else {
		require.NoError(t, err)
	}
	for _, v := range m.values {
		if v.guards.Load() == 0 {
			v.pending = 0 // check compares this with the real count
		}
	}
	m.check(t)
}

// tracedExtra counts the tracked handles of slots and Guards.
func (m *arcModel) tracedExtra() int {
	n := 0
	for _, v := range m.held {
		if v != nil {
			n++
		}
	}
	for _, g := range m.guards {
		if g.v != nil {
			n++
		}
	}
	return n
}

// finish empties the slots, releases the Guards and waits out the grace
// period before the handle model finishes.
func (m *arcModel) finish(t *rapid.T) {
	for _, g := range m.guards {
		if g.v != nil {
			g.v.guards.Add(-1)
		}
		g.g.Release()
	}
	m.guards = nil
	for k := range m.slots {
		m.slots[k].Store(refcount.Arc[int]{})
		m.replace(k, nil)
	}
	m.barrier(t)
	m.countModel.finish(t)
}

func (m *arcModel) cleanup() {
	for _, g := range m.guards {
		g.g.Release()
	}
	m.guards = nil
	for k := range m.slots {
		m.slots[k].Store(refcount.Arc[int]{})
	}
	m.countModel.cleanup()
}
