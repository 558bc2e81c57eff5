package ctest

import (
	"cmp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-reclaim/reclaim/epoch"
	"github.com/go-reclaim/reclaim/hazard"
	"github.com/go-reclaim/reclaim/stress"
)

// The size of the containers' stress tests, per scheme: small enough that
// the four packages together add well under 20 seconds to go test -race on
// two cores. STRESS_SCALE (or -stress.scale) multiplies the operations of
// a bulk round, as package stress does for every Run, and the number of
// rounds of both kinds, for soak runs: STRESS_SCALE=50 go test -race
// -run TestStress ./container/...
const (
	// LinearizableOps is the number of operations whose histories are
	// checked, in rounds of StressCase.HistorySize.
	LinearizableOps = 8000
	// BulkRounds is the number of rounds without a history, of BulkOps
	// operations each: more reclamation, checked by conservation (stacks
	// and queues) and by the scheme's counts.
	BulkRounds = 4
	BulkOps    = 10000

	// faultShare makes faults rare: every operation of the container's
	// mix weighs faultShare times its Weight, a fault 1.
	faultShare = 8
	// stallFor is how long a stalled guard or protection is held.
	stallFor = time.Millisecond
	// checkFor bounds a linearizability check: a rare history whose check
	// explodes is logged as inconclusive instead of eating the budget.
	checkFor = 2 * time.Second
	// abandonedOps is how many operations an abandoned goroutine runs.
	abandonedOps = 4
	// longGuardOps is how many operations a long guard runs: enough for
	// the nodes it meets to be born, retired and reused while it is open,
	// which a robust guard survives only by keeping its reservation
	// current.
	longGuardOps = 32
)

// Env is what one operation of a stress test runs in: under epoch an open
// guard of the scheme's collector, under hazard pointers an Array of the
// scheme's domain, under the garbage collector neither.
type Env struct {
	G  *epoch.Guard
	HP *hazard.Array
}

// Open builds one structure on s with the constructor for its scheme and
// returns its view for an Env: gc's structure is used as it is, ep's and
// hz's return a view around the Env's guard or hazard pointers.
func Open[V any](s Scheme, gc func() V, ep func(*epoch.Collector) func(*epoch.Guard) V, hz func(*hazard.Domain) func(*hazard.Array) V) func(Env) V {
	switch {
	case s.C != nil:
		view := ep(s.C)
		return func(e Env) V { return view(e.G) }
	case s.D != nil:
		view := hz(s.D)
		return func(e Env) V { return view(e.HP) }
	}
	v := gc()
	return func(Env) V { return v }
}

// StressCase is a container to stress, adapted to an interface V.
type StressCase[V any] struct {
	// Model checks the histories: stress.StackModel and the like.
	Model stress.Model
	// HazardPointers is how many hazard pointers an operation of the
	// Hazard variant takes.
	HazardPointers int
	// Open builds a fresh structure on a scheme (see Open).
	Open func(Scheme) func(Env) V
	// Mix is the container's ready-made mix (stress.StackMix and the
	// like) on the structure of r: each operation runs through r.Do and
	// counts the nodes it unlinks with r.Unlinked.
	Mix func(r *Round[V], hist *stress.History) stress.Mix
	// HistorySize bounds a linearizable round (0: stress's default): keyed
	// models check long histories quickly, stacks and queues do not.
	HistorySize int
	// Goroutines is the number of workers of a linearizable round (0:
	// stress's default, 4×GOMAXPROCS). Fewer workers are preempted less
	// inside operations, which keeps an unpartitioned history's check from
	// exploding.
	Goroutines int
	// EpochOnly runs the epoch schemes alone (Epoch and EpochRobust), for
	// a structure that exists only on epoch.
	EpochOnly bool
	// Close, if set, closes the round's structure on s before the scheme
	// is closed, and returns how many objects the structure retired on
	// its own, beyond the nodes its operations counted as unlinked (an
	// off-heap map's tables, and the entries it frees at Close).
	Close func(s Scheme) (retired uint64)
}

// Stress runs package stress on the container of c in every scheme, as
// subtests GC, Epoch, EpochRobust and Hazard, each with two subtests of
// its own:
//
//   - linearizable: LinearizableOps operations in rounds whose histories
//     porcupine checks against c.Model;
//   - bulk: BulkRounds rounds of BulkOps operations without a history.
//
// Every round builds a fresh structure on a fresh scheme (small batches,
// so nodes are reclaimed and reused often) and adds the scheme's faults to
// the mix: under epoch, classic or robust, a stalled guard (stress.StallGuard) and goroutines
// that exit with retired nodes in an abandoned Handle's batch
// (stress.AbandonHandle); under hazard pointers a stalled protection
// (stress.StallProtect, of a sentinel object that another operation keeps
// replacing and retiring into the same domain: the containers' nodes are
// not reachable from outside) and goroutines that exit with retired nodes
// in the domain's batches (stress.Abandon). At the end of a round
// stress.Shutdown closes the scheme, and the scheme's Stats must count
// every node the operations unlinked, and every sentinel, as retired and
// reclaimed, exactly once each.
func Stress[V any](t *testing.T, c StressCase[V]) {
	for i, mk := range Schemes() {
		if c.EpochOnly && !strings.HasPrefix(Names[i], "Epoch") {
			continue
		}
		t.Run(Names[i], func(t *testing.T) {
			t.Run("linearizable", func(t *testing.T) { stressRounds(t, mk, c, true) })
			t.Run("bulk", func(t *testing.T) { stressRounds(t, mk, c, false) })
		})
	}
}

// stressRounds runs the rounds of one kind on fresh schemes from mk.
func stressRounds[V any](tb testing.TB, mk func() Scheme, c StressCase[V], linearizable bool) {
	rounds, ops := BulkRounds, BulkOps
	if linearizable {
		ops = cmp.Or(c.HistorySize, stress.DefaultHistorySize)
		rounds = max(1, LinearizableOps/ops)
	}
	opts := []stress.Option{stress.Ops(ops), stress.HistorySize(ops), stress.CheckTimeout(checkFor),
		stress.Timeout(time.Duration(float64(Timeout) * max(1, stress.Scale())))} // a corrupt list may cycle
	if linearizable && c.Goroutines > 0 {
		opts = append(opts, stress.Goroutines(c.Goroutines))
	}
	h := stress.New(tb, opts...)

	var hist *stress.History
	if linearizable {
		hist = stress.NewHistory(h, c.Model)
	}
	// The harness's failures carry the seed; this line gives it for those
	// it does not see, such as a data race the race detector reports.
	total, done := map[string]int64{}, 0
	defer func() {
		h.Logf("%d rounds on %s: %v; replay with %s=%d", done, tb.Name(), total, stress.SeedEnv, h.Seed())
	}()
	for range max(1, int(float64(rounds)*stress.Scale())) {
		r := newRound(h, mk(), c)
		res := h.Run(r.mix(c.Mix(r, hist)))
		done++
		for op, n := range res.Counts {
			total[op] += n
		}
		if res.Hung {
			return // workers may still hold guards or hazard pointers
		}
		r.close(h, c.Close)
		if h.Failed() {
			return
		}
	}
}

// Round is one structure on one scheme, stressed by one Run.
type Round[V any] struct {
	s              Scheme
	view           func(Env) V
	hazardPointers int

	// By worker ID (Goroutines()+1 entries, for the Finally worker); an
	// abandoned goroutine uses its waiting worker's entries.
	within   []*Env // the Env w's operations share, if any: see runWithin
	unlinked []int  // nodes unlinked, which the scheme must retire
	swapped  []int  // sentinels retired

	sentinel  atomic.Pointer[sentinel]
	sentinels *stress.Ledger[sentinel]
}

// sentinel is what a stalled hazard pointer protects; the Ledger poisons
// it when it is reclaimed, and the stalled reader checks it.
type sentinel struct{ stress.Canary }

func newRound[V any](h *stress.Harness, s Scheme, c StressCase[V]) *Round[V] {
	n := h.Goroutines() + 1
	r := &Round[V]{
		s: s, view: c.Open(s), hazardPointers: c.HazardPointers,
		within: make([]*Env, n), unlinked: make([]int, n), swapped: make([]int, n),
	}
	if s.D != nil {
		r.sentinels = stress.NewLedger[sentinel](h, nil)
		first := new(sentinel)
		r.sentinels.Alloc(first)
		r.sentinel.Store(first)
	}
	return r
}

// Do runs op on the structure in an Env for w: a guard entered (epoch) or
// hazard pointers acquired (hazard) for this operation alone, or the Env
// that w's operations share for now (see runWithin).
func (r *Round[V]) Do(w *stress.Worker, op func(V)) {
	if e := r.within[w.ID()]; e != nil {
		op(r.view(*e))
		return
	}
	switch {
	case r.s.C != nil:
		g := r.s.C.Enter()
		defer g.Exit()
		op(r.view(Env{G: g}))
	case r.s.D != nil:
		hp := r.s.D.AcquireArray(r.hazardPointers)
		defer hp.Release()
		op(r.view(Env{HP: hp}))
	default:
		op(r.view(Env{}))
	}
}

// Unlinked counts, if ok, one node that w's operation unlinked: the scheme
// must retire it exactly once.
func (r *Round[V]) Unlinked(w *stress.Worker, ok bool) {
	if ok {
		r.unlinked[w.ID()]++
	}
}

// mix makes faults rare in the container's mix and adds the scheme's:
// under epoch also a long guard, which runs longGuardOps operations of the
// container's mix in one guard (on a robust collector the guard holds back
// only the nodes its reservation covers, so it must keep that current).
func (r *Round[V]) mix(data stress.Mix) stress.Mix {
	var drawn stress.Mix // what runWithin draws from
	for i, op := range data {
		if op.Weight > 0 {
			drawn = append(drawn, op)
			data[i].Weight *= faultShare
		}
	}
	// runWithin runs n operations drawn from the container's mix for w,
	// all in e.
	runWithin := func(w *stress.Worker, e *Env, n int) {
		r.within[w.ID()] = e
		defer func() { r.within[w.ID()] = nil }()
		for range n {
			drawn[w.Rand().IntN(len(drawn))].Do(w)
		}
	}
	abandon := func(w *stress.Worker, e *Env) { runWithin(w, e, abandonedOps) }
	switch c, d := r.s.C, r.s.D; {
	case c != nil:
		data = append(data,
			stress.StallGuard(c, stallFor),
			stress.Op{Name: "long-guard", Weight: 1, Do: func(w *stress.Worker) {
				g := c.Enter()
				defer g.Exit()
				runWithin(w, &Env{G: g}, longGuardOps)
			}},
			stress.AbandonHandle(c, func(w *stress.Worker, g *epoch.Guard) { abandon(w, &Env{G: g}) }))
	case d != nil:
		data = append(data,
			stress.StallProtect(d, &r.sentinel, stallFor),
			stress.Op{Name: "swap-sentinel", Weight: 1, Do: r.swap},
			stress.Abandon("abandon", func(w *stress.Worker) {
				hp := d.AcquireArray(r.hazardPointers)
				defer hp.Release()
				abandon(w, &Env{HP: hp})
			}))
	}
	return data
}

// swap replaces the sentinel and retires the old one.
func (r *Round[V]) swap(w *stress.Worker) {
	n := new(sentinel)
	r.sentinels.Alloc(n)
	old := r.sentinel.Swap(n)
	r.sentinels.Retire(old)
	hazard.Retire(r.s.D, old, r.sentinels.Reclaim)
	r.swapped[w.ID()]++
}

// close shuts the scheme down and checks its counts.
func (r *Round[V]) close(h *stress.Harness, closeStructure func(Scheme) uint64) {
	if r.s.C == nil && r.s.D == nil {
		return
	}
	want := uint64(0)
	if closeStructure != nil {
		want = closeStructure(r.s)
	}
	stress.Shutdown(h, r.s.Close)
	if r.sentinels != nil {
		r.sentinels.Verify()
	}
	if h.Failed() {
		return // counts after a failure say nothing more
	}
	for id := range r.unlinked {
		want += uint64(r.unlinked[id] + r.swapped[id])
	}
	var retired, reclaimed uint64
	if r.s.C != nil {
		st := r.s.C.Stats()
		retired, reclaimed = st.Retired, st.Reclaimed
	} else {
		st := r.s.D.Stats()
		retired, reclaimed = st.Retired, st.Reclaimed
	}
	if retired != want || reclaimed != want {
		h.Errorf("%s: after Close the scheme retired %d and reclaimed %d objects; the operations unlinked %d (sentinels included), each to be retired and reclaimed exactly once",
			r.s.Name, retired, reclaimed, want)
	}
}
