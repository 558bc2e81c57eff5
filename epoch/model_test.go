package epoch_test

import (
	"context"
	"fmt"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/go-reclaim/reclaim/epoch"
)

// TestModelCollector drives one Collector from a single goroutine through
// random sequences of guard, retire, Pool, Barrier and Close operations and
// compares it, after every step, with a sequential model:
//
//   - safety: no object is reclaimed while a guard that was open when it was
//     retired is still open (the model records, for every retired object, the
//     guards open at its retire); in the robust mode (RECLAIM_TEST_MODE),
//     for a Pool node, while the guard that took it from Get or a guard
//     that loaded it through epoch.Load is still open;
//   - every object is reclaimed at most once, and by a successful Barrier or
//     Close at the latest;
//   - Stats agrees with the model: Reclaimed exactly, Guards exactly (open
//     slots: nested guards of a Handle count once), Retired within the batch
//     slack its doc allows, Pending 0 after a successful Barrier;
//   - Barrier with a guard open (one of ours: Barrier runs inside it) ends
//     with context.DeadlineExceeded; without, it returns nil and everything
//     retired before it has been reclaimed;
//   - Close with guards open wraps ErrGuardsOpen; once they have all exited
//     it returns nil, leaves nothing pending, and Enter and Register panic.
//
// After a successful Close the model starts over on a new Collector, so one
// run can cover several lives.
func TestModelCollector(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		m := &model{}
		m.start(rt)
		rt.Repeat(map[string]func(*rapid.T){
			"enterPooled":  m.enterPooled,
			"register":     m.register,
			"unregister":   m.unregister,
			"enterHandle":  m.enterHandle,
			"exit":         m.exit,
			"refresh":      m.refresh,
			"retire":       m.retire,
			"retireNested": m.retireNested,
			"defer":        m.deferFn,
			"poolGet":      m.poolGet,
			"poolRetire":   m.poolRetire,
			"poolCycle":    m.poolCycle,
			"poolLoad":     m.poolLoad,
			"barrier":      m.barrier,
			"close":        m.close,
			"":             m.check,
		})
		m.finish(rt)
	})
}

// Object kinds, for messages.
const (
	kindRetire = "Retire"
	kindNested = "Retire (free retires a child)"
	kindChild  = "Retire from a free function"
	kindDefer  = "Defer"
	kindPool   = "Pool.Retire"
)

// modelObj is the model's record of one retired object.
type modelObj struct {
	id   int
	kind string
	// openAt are the ids of the guards open when the object was retired:
	// none of them may still be open when it is reclaimed.
	openAt    []int
	reclaimed int
}

// modelItem is what Retire and Defer hand to the collector.
type modelItem struct {
	id    int
	child bool // its free function enters and retires a child item
}

// modelNode is the Pool's node type.
type modelNode struct {
	id       int
	poisoned bool
	payload  [2]uint64
}

// modelGuard is an open guard. Its id changes on Refresh (Exit then Enter).
type modelGuard struct {
	id     int
	g      *epoch.Guard
	handle *modelHandle // nil for a pooled guard
}

type modelHandle struct {
	h    *epoch.Handle
	open int // guards open through it (nested)
}

type model struct {
	gen    int
	c      *epoch.Collector
	pool   *epoch.Pool[modelNode]
	batch  int
	closed bool // Close has been called on c
	// inClose is set while c.Close runs: free functions may still Enter.
	inClose bool

	nextID  int
	guards  []*modelGuard
	open    map[int]bool // ids of open guards
	handles []*modelHandle

	objs      map[int]*modelObj
	order     []*modelObj // retire order
	reclaimed uint64      // free/Defer/OnReclaim calls
	held      []*modelNode
	inLimbo   map[*modelNode]int // Pool node -> its pending object id
	// reach is, per held Pool node, the guards that may dereference it in
	// the robust mode: the one that took it from Get, and those that
	// loaded it through epoch.Load from its published link.
	reach     map[*modelNode][]int
	links     map[*modelNode]*atomic.Pointer[modelNode]
	lastEpoch uint64
}

const (
	modelMaxGuards  = 6
	modelMaxHandles = 3
	modelMaxNest    = 3
)

// start begins a new life on a new Collector, with a batch size drawn small
// so that batches fill and reclamation happens within a few steps.
func (m *model) start(t *rapid.T) {
	m.gen++
	m.batch = rapid.IntRange(1, 4).Draw(t, "batchSize")
	m.c = newCollector(epoch.WithBatchSize(m.batch), epoch.WithMaxBatchAge(0)) // the model reclaims deterministically
	m.pool = epoch.NewPool(m.c, epoch.OnReclaim(m.onPoolReclaim))
	m.closed, m.inClose = false, false
	m.guards, m.handles, m.held = nil, nil, nil
	m.open = map[int]bool{}
	m.objs = map[int]*modelObj{}
	m.order = nil
	m.reclaimed = 0
	m.inLimbo = map[*modelNode]int{}
	m.reach = map[*modelNode][]int{}
	m.links = map[*modelNode]*atomic.Pointer[modelNode]{}
	m.lastEpoch = 0
}

func (m *model) newID() int {
	m.nextID++
	return m.nextID
}

// violate reports a broken invariant found inside a free function (or
// OnReclaim, or Pool.Get) by panicking, which rapid reports with the steps
// that led to it. Returning instead could leave a broken collector looping:
// a Barrier that keeps advancing the epoch does not look at its context.
func (m *model) violate(format string, args ...any) {
	panic(fmt.Sprintf("life %d: ", m.gen) + fmt.Sprintf(format, args...))
}

// openIDs is a snapshot of the ids of the open guards.
func (m *model) openIDs() []int {
	ids := make([]int, 0, len(m.guards))
	for _, g := range m.guards {
		ids = append(ids, g.id)
	}
	return ids
}

// openSlots is the number of participant slots with a guard open.
func (m *model) openSlots() int {
	n := 0
	for _, g := range m.guards {
		if g.handle == nil {
			n++
		}
	}
	for _, h := range m.handles {
		if h.open > 0 {
			n++
		}
	}
	return n
}

// record adds a retired object to the model; the open guards are those of
// the test plus, for a child retired by a free function, none of its own
// (the free function's guard exits before it returns).
func (m *model) record(kind string) *modelObj {
	o := &modelObj{id: m.newID(), kind: kind, openAt: m.openIDs()}
	m.objs[o.id] = o
	m.order = append(m.order, o)
	return o
}

// reclaimObj is called by every free function, Defer and OnReclaim.
func (m *model) reclaimObj(id int) {
	m.reclaimed++
	o := m.objs[id]
	if o == nil {
		m.violate("reclaimed object %d that was never retired", id)
		return
	}
	o.reclaimed++
	if o.reclaimed > 1 {
		m.violate("object %d (%s) reclaimed %d times", id, o.kind, o.reclaimed)
	}
	for _, gid := range o.openAt {
		if m.open[gid] {
			m.violate("object %d (%s) reclaimed while guard %d, open when it was retired, is still open", id, o.kind, gid)
		}
	}
}

func (m *model) freeItem(p *modelItem) {
	if p.id < 0 {
		m.violate("free function ran on an item already reclaimed")
		return
	}
	id := p.id
	p.id = -1 // poison
	m.reclaimObj(id)
	if !p.child {
		return
	}
	// A free function may itself Enter and Retire. After Close it may do so
	// only while Close runs it.
	if m.closed && !m.inClose {
		return
	}
	g := m.c.Enter()
	o := m.record(kindChild)
	epoch.Retire(g, &modelItem{id: o.id}, m.freeItem)
	g.Exit()
}

func (m *model) onPoolReclaim(x *modelNode) {
	id, ok := m.inLimbo[x]
	if !ok {
		m.violate("OnReclaim on a Pool node that is not pending (id %d)", x.id)
		return
	}
	if x.id != id {
		m.violate("Pool node of object %d changed while pending: id %d", id, x.id)
	}
	delete(m.inLimbo, x)
	m.reclaimObj(id)
	x.poisoned = true
	x.id = -1
	x.payload = [2]uint64{0xdead, 0xdead}
}

// pickGuard draws an open guard, or skips the action if there is none.
func (m *model) pickGuard(t *rapid.T) *modelGuard {
	if len(m.guards) == 0 {
		t.Skip("no guard open")
	}
	return m.guards[rapid.IntRange(0, len(m.guards)-1).Draw(t, "guard")]
}

func (m *model) addGuard(g *epoch.Guard, h *modelHandle) {
	mg := &modelGuard{id: m.newID(), g: g, handle: h}
	m.guards = append(m.guards, mg)
	m.open[mg.id] = true
}

func (m *model) enterPooled(t *rapid.T) {
	if len(m.guards) >= modelMaxGuards {
		t.Skip("enough guards")
	}
	if m.closed {
		require.Panics(t, func() { m.c.Enter() }, "Enter after Close")
		return
	}
	m.addGuard(m.c.Enter(), nil)
}

func (m *model) register(t *rapid.T) {
	if len(m.handles) >= modelMaxHandles {
		t.Skip("enough handles")
	}
	if m.closed {
		require.Panics(t, func() { m.c.Register() }, "Register after Close")
		return
	}
	m.handles = append(m.handles, &modelHandle{h: m.c.Register()})
}

func (m *model) unregister(t *rapid.T) {
	var idle []int
	for i, h := range m.handles {
		if h.open == 0 {
			idle = append(idle, i)
		}
	}
	if len(idle) == 0 {
		t.Skip("no idle handle")
	}
	i := idle[rapid.IntRange(0, len(idle)-1).Draw(t, "handle")]
	m.handles[i].h.Unregister()
	m.handles = slices.Delete(m.handles, i, i+1)
}

func (m *model) enterHandle(t *rapid.T) {
	if len(m.handles) == 0 {
		t.Skip("no handle")
	}
	if len(m.guards) >= modelMaxGuards {
		t.Skip("enough guards")
	}
	h := m.handles[rapid.IntRange(0, len(m.handles)-1).Draw(t, "handle")]
	if h.open >= modelMaxNest {
		t.Skip("nested deep enough")
	}
	if m.closed && h.open == 0 {
		require.Panics(t, func() { h.h.Enter() }, "Handle.Enter after Close")
		return
	}
	m.addGuard(h.h.Enter(), h)
	h.open++
}

func (m *model) exit(t *rapid.T) {
	g := m.pickGuard(t)
	g.g.Exit()
	m.guards = slices.DeleteFunc(m.guards, func(x *modelGuard) bool { return x == g })
	delete(m.open, g.id)
	if g.handle != nil {
		g.handle.open--
	}
}

func (m *model) refresh(t *rapid.T) {
	var ok []*modelGuard
	for _, g := range m.guards {
		if m.canRefresh(g) {
			ok = append(ok, g)
		}
	}
	if len(ok) == 0 {
		t.Skip("no guard that may refresh")
	}
	m.refreshGuard(ok[rapid.IntRange(0, len(ok)-1).Draw(t, "guard")])
}

func (m *model) canRefresh(g *modelGuard) bool {
	return g.handle == nil || g.handle.open == 1
}

func (m *model) refreshGuard(g *modelGuard) {
	g.g.Refresh()
	// Refresh is Exit followed by Enter: what was retired before it is no
	// longer protected by this guard.
	delete(m.open, g.id)
	g.id = m.newID()
	m.open[g.id] = true
}

func (m *model) retire(t *rapid.T) {
	g := m.pickGuard(t)
	o := m.record(kindRetire)
	epoch.Retire(g.g, &modelItem{id: o.id}, m.freeItem)
}

func (m *model) retireNested(t *rapid.T) {
	g := m.pickGuard(t)
	o := m.record(kindNested)
	epoch.Retire(g.g, &modelItem{id: o.id, child: true}, m.freeItem)
}

func (m *model) deferFn(t *rapid.T) {
	g := m.pickGuard(t)
	o := m.record(kindDefer)
	id := o.id
	done := false
	g.g.Defer(func() {
		if done {
			m.violate("Defer function of object %d ran twice", id)
		}
		done = true
		m.reclaimObj(id)
	})
}

func (m *model) poolGet(t *rapid.T) {
	m.held = append(m.held, m.getNode(m.pickGuard(t)))
}

// poolLoad has a guard load a held node through epoch.Load from the link
// that publishes it.
func (m *model) poolLoad(t *rapid.T) {
	if len(m.held) == 0 {
		t.Skip("no Pool node held")
	}
	g := m.pickGuard(t)
	x := m.held[rapid.IntRange(0, len(m.held)-1).Draw(t, "node")]
	if got := epoch.Load(g.g, m.links[x]); got != x {
		m.violate("epoch.Load returned %p, not the published node %p", got, x)
	}
	m.reach[x] = append(m.reach[x], g.id)
}

func (m *model) getNode(g *modelGuard) *modelNode {
	x := m.pool.Get(g.g)
	if slices.Contains(m.held, x) {
		m.violate("Pool.Get returned a node the caller still holds")
	}
	if id, ok := m.inLimbo[x]; ok {
		m.violate("Pool.Get returned the node of object %d before its grace period was over", id)
	}
	if *x != (modelNode{}) {
		m.violate("Pool.Get returned a node that is not zeroed: %+v", *x)
	}
	x.payload = [2]uint64{1, 2}
	m.reach[x] = []int{g.id}
	if m.links[x] == nil {
		m.links[x] = new(atomic.Pointer[modelNode])
	}
	m.links[x].Store(x)
	return x
}

func (m *model) poolRetire(t *rapid.T) {
	if len(m.held) == 0 {
		t.Skip("no Pool node held")
	}
	g := m.pickGuard(t)
	i := rapid.IntRange(0, len(m.held)-1).Draw(t, "node")
	x := m.held[i]
	m.held = slices.Delete(m.held, i, i+1)
	m.retireNode(g, x)
}

func (m *model) retireNode(g *modelGuard, x *modelNode) {
	o := m.record(kindPool)
	if m.c.Robust() {
		o.openAt = slices.DeleteFunc(m.reach[x], func(id int) bool { return !m.open[id] })
	}
	delete(m.reach, x)
	m.links[x].Store(nil) // unlinked
	x.id = o.id
	m.inLimbo[x] = o.id
	m.pool.Retire(g.g, x)
}

// poolCycle is the Pool's steady state in one guard: get a node, retire it,
// and now and then refresh, so that the slot's own sealed batches expire
// and come back out of Get.
func (m *model) poolCycle(t *rapid.T) {
	g := m.pickGuard(t)
	n := rapid.IntRange(1, 4*m.batch).Draw(t, "cycles")
	for i := 0; i < n; i++ {
		m.retireNode(g, m.getNode(g))
		if m.canRefresh(g) && rapid.Bool().Draw(t, "refresh") {
			m.refreshGuard(g)
		}
		m.check(t)
	}
}

// barrierTimeout bounds a Barrier that should succeed, so that a broken
// collector fails the test instead of hanging it.
const barrierTimeout = 2 * time.Second

func (m *model) barrier(t *rapid.T) {
	if len(m.guards) > 0 {
		// Barrier runs inside our own guards: it must wait until ctx ends,
		// reclaiming nothing unsafe meanwhile (check runs next).
		ctx, cancel := context.WithTimeout(context.Background(), time.Millisecond)
		defer cancel()
		err := m.c.Barrier(ctx)
		m.check(t)
		require.ErrorIs(t, err, context.DeadlineExceeded, "Barrier with %d guard(s) open", len(m.guards))
		return
	}
	before := len(m.order)
	ctx, cancel := context.WithTimeout(context.Background(), barrierTimeout)
	defer cancel()
	err := m.c.Barrier(ctx)
	m.check(t)
	require.NoError(t, err, "Barrier with no guard open")
	m.requireReclaimed(t, before, "Barrier")
	if len(m.order) == before {
		// Nothing was retired during the Barrier (by a free function), so
		// nothing may be pending and every retire has been counted.
		st := m.c.Stats()
		require.Zero(t, st.Pending, "Pending after Barrier: %+v", st)
		require.Equal(t, uint64(len(m.order)), st.Retired, "Retired after Barrier")
	}
}

// requireReclaimed checks that the first n objects retired have been
// reclaimed exactly once.
func (m *model) requireReclaimed(t *rapid.T, n int, after string) {
	t.Helper()
	for _, o := range m.order[:n] {
		if o.reclaimed != 1 {
			t.Fatalf("life %d: after %s, object %d (%s) reclaimed %d times, want 1", m.gen, after, o.id, o.kind, o.reclaimed)
		}
	}
}

func (m *model) close(t *rapid.T) {
	m.closed, m.inClose = true, true
	err := m.c.Close()
	m.inClose = false
	if len(m.guards) > 0 {
		require.ErrorIs(t, err, epoch.ErrGuardsOpen, "Close with %d guard(s) open", len(m.guards))
		// The error says how many guards (slots) are open.
		require.Contains(t, err.Error(), fmt.Sprintf("%d guard", m.openSlots()))
		return
	}
	require.NoError(t, err, "Close with no guard open")
	m.requireClosed(t)
	m.start(t)
}

// requireClosed checks a Collector that has just been closed with no guard
// open, and gives its handles back.
func (m *model) requireClosed(t *rapid.T) {
	t.Helper()
	m.check(t)
	m.requireReclaimed(t, len(m.order), "Close")
	st := m.c.Stats()
	require.Zero(t, st.Pending, "Pending after Close: %+v", st)
	require.Equal(t, uint64(len(m.order)), st.Retired, "Retired after Close")
	require.Len(t, m.inLimbo, 0, "Pool nodes pending after Close")
	require.NoError(t, m.c.Close(), "second Close")
	require.Panics(t, func() { m.c.Enter() }, "Enter after Close")
	require.Panics(t, func() { m.c.Register() }, "Register after Close")
	for _, h := range m.handles {
		require.Panics(t, func() { h.h.Enter() }, "Handle.Enter after Close")
		h.h.Unregister()
	}
	m.handles = nil
	m.check(t)
}

// finish exits every guard and closes the collector.
func (m *model) finish(t *rapid.T) {
	for len(m.guards) > 0 {
		g := m.guards[len(m.guards)-1]
		g.g.Exit()
		m.guards = m.guards[:len(m.guards)-1]
		delete(m.open, g.id)
		if g.handle != nil {
			g.handle.open--
		}
		m.check(t)
	}
	m.closed, m.inClose = true, true
	err := m.c.Close()
	m.inClose = false
	require.NoError(t, err, "final Close")
	m.requireClosed(t)
}

// check holds after every action.
func (m *model) check(t *rapid.T) {
	t.Helper()
	st := m.c.Stats()
	require.Equal(t, m.reclaimed, st.Reclaimed, "Stats().Reclaimed vs free functions run: %+v", st)
	require.Equal(t, m.openSlots(), st.Guards, "Stats().Guards vs slots with a guard open: %+v", st)
	require.LessOrEqual(t, st.Reclaimed, st.Retired, "Stats: reclaimed more than retired: %+v", st)
	require.Equal(t, st.Retired-st.Reclaimed, st.Pending, "Stats().Pending: %+v", st)
	// Retired counts whole batches: per slot, up to batch-1 objects in the
	// slot's open batch and as many in the Pool's.
	retired := uint64(len(m.order))
	require.LessOrEqual(t, st.Retired, retired, "Stats().Retired counts more than was retired: %+v", st)
	slack := uint64(2 * (m.batch - 1) * st.Slots)
	require.LessOrEqual(t, retired-st.Retired, slack, "Stats().Retired lags more than the open batches allow (%d retired, batch %d): %+v", retired, m.batch, st)
	require.GreaterOrEqual(t, st.Epoch, m.lastEpoch, "epoch went backwards")
	m.lastEpoch = st.Epoch
}
