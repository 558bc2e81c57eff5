package hazard_test

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

	"github.com/go-reclaim/reclaim/hazard"
)

// TestModelDomain drives one Domain from a single goroutine through random
// sequences of Acquire, Release, Protect, TryProtect, Reset, swap-and-Retire
// of shared sources, Retire of unshared objects, Barrier with a short
// deadline and Close, and compares it with a sequential model:
//
//   - safety: no object is reclaimed while a live Pointer publishes it (a
//     Pointer publishes what it last protected, and nothing after Reset or
//     Release; a failed TryProtect still publishes its argument); checked
//     inside the free function, whichever of Retire, Barrier or Close runs
//     it;
//   - no object is reclaimed twice, nor before it is retired;
//   - Protect returns what the source holds; TryProtect succeeds exactly
//     when the source still holds its argument;
//   - after Barrier (nil or not) and Close, every retired object that no
//     live Pointer publishes has been reclaimed; Barrier returns nil exactly
//     when no pending object is published, else context.DeadlineExceeded;
//     Close wraps ErrProtected with the counts exactly then;
//   - Stats agrees with the model: Retired, Reclaimed and Pending exactly
//     (an object counts as retired from its Retire on), Pointers and
//     Protecting exactly, Slots between the peak number of live Pointers
//     and that plus 2·GOMAXPROCS (per-processor home and spare slots), Threshold from
//     Pointers;
//   - after Close, Acquire and Retire panic; Pointers acquired before keep
//     working; at the end, releasing everything and closing reclaims all.
//
// Aging is off: the free functions update the model without locks, so
// they must run on the test's goroutine.
func TestModelDomain(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		m := newHazardModel(rt)
		rt.Repeat(map[string]func(*rapid.T){
			"acquire":    m.acquire,
			"release":    m.release,
			"protect":    m.protect,
			"tryProtect": m.tryProtect,
			"reset":      m.reset,
			"swapRetire": m.swapRetire,
			"retireMany": m.retireMany,
			"barrier":    m.barrier,
			"close":      m.close,
			"":           m.check,
		})
		m.finish(rt)
	})
}

const modelSources = 3

// mobj is a model object; every one stays referenced by the model, so no
// address is reused during a run.
type mobj struct{ id int }

type mptr struct {
	hp  *hazard.Pointer
	pub *mobj // the object whose address hp publishes, nil for none
}

type hazardModel struct {
	t         *rapid.T
	d         *hazard.Domain
	threshold int
	srcs      [modelSources]atomic.Pointer[mobj]
	ptrs      []*mptr
	peakLive  int
	objs      []*mobj        // every object made, kept alive
	pending   map[*mobj]bool // retired, not reclaimed
	reclaimed map[*mobj]int  // reclaim count
	retired   int            // objects retired
	freed     int            // free functions run
	closed    bool
}

func newHazardModel(t *rapid.T) *hazardModel {
	thr := rapid.SampledFrom([]int{1, 2, 64, 1000}).Draw(t, "threshold")
	m := &hazardModel{
		t:         t,
		d:         hazard.New(hazard.WithThreshold(thr), hazard.WithMaxBatchAge(0)),
		threshold: thr,
		pending:   map[*mobj]bool{},
		reclaimed: map[*mobj]int{},
	}
	for i := range m.srcs {
		if rapid.Bool().Draw(t, fmt.Sprintf("src%d", i)) {
			m.srcs[i].Store(m.newObj())
		}
	}
	return m
}

func (m *hazardModel) newObj() *mobj {
	o := &mobj{id: len(m.objs)}
	m.objs = append(m.objs, o)
	return o
}

func (m *hazardModel) free(o *mobj) {
	if n := m.reclaimed[o]; n > 0 {
		m.t.Fatalf("object %d reclaimed %d times", o.id, n+1)
	}
	if !m.pending[o] {
		m.t.Fatalf("object %d reclaimed but never retired", o.id)
	}
	for i, p := range m.ptrs {
		if p.pub == o {
			m.t.Fatalf("object %d reclaimed while pointer %d protects it", o.id, i)
		}
	}
	delete(m.pending, o)
	m.reclaimed[o]++
	m.freed++
}

func (m *hazardModel) doRetire(o *mobj) {
	if m.closed {
		require.PanicsWithValue(m.t, "hazard: Retire on a closed Domain",
			func() { hazard.Retire(m.d, o, m.free) })
		return
	}
	// Mark it first: Retire may reclaim it at once, running m.free.
	m.pending[o] = true
	m.retired++
	hazard.Retire(m.d, o, m.free)
}

func (m *hazardModel) pick(t *rapid.T) *mptr {
	if len(m.ptrs) == 0 {
		t.Skip("no pointer")
	}
	return m.ptrs[rapid.IntRange(0, len(m.ptrs)-1).Draw(t, "ptr")]
}

func (m *hazardModel) acquire(t *rapid.T) {
	if m.closed {
		require.PanicsWithValue(t, "hazard: Acquire on a closed Domain", func() { m.d.Acquire() })
		return
	}
	if len(m.ptrs) >= 6 {
		t.Skip("enough pointers")
	}
	m.ptrs = append(m.ptrs, &mptr{hp: m.d.Acquire()})
	m.peakLive = max(m.peakLive, len(m.ptrs))
}

func (m *hazardModel) release(t *rapid.T) {
	p := m.pick(t)
	p.hp.Release()
	m.ptrs = slices.DeleteFunc(m.ptrs, func(q *mptr) bool { return q == p })
	require.PanicsWithValue(t, "hazard: Release through a Pointer that was already released",
		func() { p.hp.Release() })
}

func (m *hazardModel) protect(t *rapid.T) {
	p := m.pick(t)
	s := rapid.IntRange(0, modelSources-1).Draw(t, "src")
	want := m.srcs[s].Load()
	got := hazard.Protect(p.hp, &m.srcs[s])
	require.Same(t, want, got)
	p.pub = got
}

// tryProtect loads a source and, if stale, swaps and retires its object
// before TryProtect, as a concurrent writer would.
func (m *hazardModel) tryProtect(t *rapid.T) {
	p := m.pick(t)
	s := rapid.IntRange(0, modelSources-1).Draw(t, "src")
	stale := !m.closed && rapid.Bool().Draw(t, "stale")
	o := m.srcs[s].Load()
	if stale {
		m.swapRetireSrc(s, true)
	}
	ok := hazard.TryProtect(p.hp, o, &m.srcs[s])
	require.Equal(t, !stale, ok)
	p.pub = o // published even when validation fails
}

func (m *hazardModel) reset(t *rapid.T) {
	p := m.pick(t)
	p.hp.Reset()
	p.pub = nil
}

// swapRetireSrc stores a new object (or, unless nonNil, sometimes nil) in
// source s and retires the old one.
func (m *hazardModel) swapRetireSrc(s int, nonNil bool) {
	var next *mobj
	if nonNil || rapid.IntRange(0, 4).Draw(m.t, "swapTo") > 0 {
		next = m.newObj()
	}
	if old := m.srcs[s].Swap(next); old != nil {
		m.doRetire(old)
	}
}

func (m *hazardModel) swapRetire(t *rapid.T) {
	m.swapRetireSrc(rapid.IntRange(0, modelSources-1).Draw(t, "src"), false)
}

// retireMany retires objects no source ever held, enough to fill batches
// and make Retire scan.
func (m *hazardModel) retireMany(t *rapid.T) {
	n := rapid.IntRange(1, 200).Draw(t, "n")
	if m.closed {
		n = 1
	}
	for range n {
		m.doRetire(m.newObj())
	}
}

// protectedPending counts the pending objects some live Pointer publishes.
func (m *hazardModel) protectedPending() int {
	seen := map[*mobj]bool{}
	for _, p := range m.ptrs {
		if p.pub != nil && m.pending[p.pub] {
			seen[p.pub] = true
		}
	}
	return len(seen)
}

func (m *hazardModel) protecting() int {
	n := 0
	for _, p := range m.ptrs {
		if p.pub != nil {
			n++
		}
	}
	return n
}

// requireDrained checks that everything pending is published by a live
// Pointer, and that the Stats match exactly.
func (m *hazardModel) requireDrained(t *rapid.T) {
	for o := range m.pending {
		prot := slices.ContainsFunc(m.ptrs, func(p *mptr) bool { return p.pub == o })
		require.True(t, prot, "object %d still pending and not protected", o.id)
	}
	st := m.d.Stats()
	require.EqualValues(t, m.retired, st.Retired, "Retired")
	require.EqualValues(t, m.freed, st.Reclaimed, "Reclaimed")
	require.EqualValues(t, len(m.pending), st.Pending, "Pending")
}

func (m *hazardModel) barrier(t *rapid.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Microsecond)
	defer cancel()
	err := m.d.Barrier(ctx)
	if m.protectedPending() > 0 {
		require.ErrorIs(t, err, context.DeadlineExceeded)
	} else {
		require.NoError(t, err)
	}
	m.requireDrained(t)
}

func (m *hazardModel) close(t *rapid.T) {
	err := m.d.Close()
	m.closed = true
	if n := m.protectedPending(); n > 0 {
		require.ErrorIs(t, err, hazard.ErrProtected)
		require.Contains(t, err.Error(),
			fmt.Sprintf("%d object(s) protected by %d hazard pointer(s)", n, m.protecting()))
	} else {
		require.NoError(t, err)
	}
	m.requireDrained(t)
}

func (m *hazardModel) check(t *rapid.T) {
	st := m.d.Stats()
	require.EqualValues(t, m.freed, st.Reclaimed, "Reclaimed")
	require.EqualValues(t, m.retired, st.Retired, "Retired")
	require.EqualValues(t, len(m.pending), st.Pending, "Pending")
	require.LessOrEqual(t, st.Pending, st.PeakPending)
	require.Equal(t, m.protecting(), st.Protecting, "Protecting")
	require.Equal(t, len(m.ptrs), st.Pointers, "Pointers")
	require.GreaterOrEqual(t, st.Slots, m.peakLive, "Slots")
	require.LessOrEqual(t, st.Slots, m.peakLive+2*runtime.GOMAXPROCS(0), "Slots")
	require.Equal(t, max(m.threshold, 2*len(m.ptrs)), st.Threshold, "Threshold")
	require.Equal(t, st.Threshold, m.d.Threshold())
	for _, p := range m.ptrs {
		require.Same(t, m.d, p.hp.Domain())
	}
}

// finish releases every Pointer and closes: everything retired is then
// reclaimed, exactly once.
func (m *hazardModel) finish(t *rapid.T) {
	for _, p := range m.ptrs {
		p.hp.Release()
	}
	m.ptrs = nil
	require.NoError(t, m.d.Close())
	m.closed = true
	m.requireDrained(t)
	require.Empty(t, m.pending)
	for o, n := range m.reclaimed {
		require.Equal(t, 1, n, "object %d", o.id)
	}
	require.NoError(t, m.d.Close())
	require.Zero(t, m.d.Stats().Protecting)
}
