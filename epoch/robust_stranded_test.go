package epoch_test

import (
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/go-reclaim/reclaim/epoch"
)

// reclaimLog records the nodes a Pool reclaims.
type reclaimLog struct {
	mu   sync.Mutex
	seen map[*robustNode]bool
}

func (r *reclaimLog) record(n *robustNode) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.seen[n] = true
}

// count reports how many of nodes have been reclaimed.
func (r *reclaimLog) count(nodes []*robustNode) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	k := 0
	for _, n := range nodes {
		if r.seen[n] {
			k++
		}
	}
	return k
}

func newLoggedStack(c *epoch.Collector) (*robustStack, *reclaimLog) {
	log := &reclaimLog{seen: map[*robustNode]bool{}}
	return &robustStack{pool: epoch.NewPool(c, epoch.OnReclaim(log.record))}, log
}

// strandFixture is a robust Collector (batches of 64, no aging timer)
// with a stack whose Pool logs what it reclaims, and two Handles: a, whose
// slot is left with a stranded batch, and b, whose seals should judge it.
type strandFixture struct {
	c    *epoch.Collector
	s    *robustStack
	log  *reclaimLog
	a, b *epoch.Handle
}

func newStrandFixture(t *testing.T) *strandFixture {
	c := epoch.New(epoch.WithRobust(), epoch.WithMaxBatchAge(0))
	s, log := newLoggedStack(c)
	f := &strandFixture{c: c, s: s, log: log, a: c.Register(), b: c.Register()}
	t.Cleanup(func() {
		f.a.Unregister()
		f.b.Unregister()
		require.NoError(t, c.Close())
	})
	return f
}

// strand leaves, in the slot of a, a sealed batch of nodes that the guard
// held (open, with a reservation covering them) kept at a's seal, and then
// opens a guard on a that stays open, as for a goroutine that waits for a
// P inside a guard and so does not seal again. It returns the stranded
// nodes, the values they held, and a's open guard.
func (f *strandFixture) strand(t *testing.T, held *epoch.Guard) ([]*robustNode, []int64, *epoch.Guard) {
	t.Helper()
	s, a := f.s, f.a
	g := a.Enter()
	for i := range 64 {
		s.push(g, int64(100+i))
	}
	g.Exit()
	epoch.Load(held, &s.head) // held reserves the era: it holds all 64
	var nodes []*robustNode
	var vals []int64
	for range 63 { // 63 guards of a's own retire 63 nodes ...
		g := a.Enter()
		n := epoch.Load(g, &s.head)
		nodes, vals = append(nodes, n), append(vals, n.val.Load())
		_, ok := s.pop(g)
		require.True(t, ok)
		g.Exit()
	}
	g = a.Enter() // ... and the 64th seals them, held
	_, ok := s.pop(g)
	require.True(t, ok)
	g.Exit()
	stuck := a.Enter()
	// A fresh heavy fence, after the seal, for the seals that follow to
	// share (with a's guard open, Flush leaves a's batches in its slot).
	f.c.Flush()
	return nodes, vals, stuck
}

// awaitReclaimed churns through h, a seal at a time, until every node of
// nodes has been reclaimed or 10 s have passed, and requires the former.
func (f *strandFixture) awaitReclaimed(t *testing.T, h *epoch.Handle, nodes []*robustNode, what string) {
	t.Helper()
	for end := time.Now().Add(10 * time.Second); f.log.count(nodes) < len(nodes) && time.Now().Before(end); {
		f.s.churn(h, 64) // one seal of h's
	}
	require.Equal(t, len(nodes), f.log.count(nodes), what)
}

// requireHeldUntilExit churns through b while reader, which holds nodes
// (kept as what: "stranded", "orphaned"), is open, and requires that none
// of them was reclaimed; then it exits reader and requires b's seals to
// reclaim them all.
func (f *strandFixture) requireHeldUntilExit(t *testing.T, reader *epoch.Guard, nodes []*robustNode, what string) {
	t.Helper()
	f.s.churn(f.b, 256)
	require.Zero(t, f.log.count(nodes), "the %s nodes were reclaimed while the reader that holds them is open", what)
	reader.Exit()
	f.awaitReclaimed(t, f.b, nodes, "the other slot's seals left the "+what+" batch pending")
}

// A slot whose goroutine waits inside a guard keeps what its last seal
// found held. Other slots' seals judge its batches too (with 1,024
// goroutines on 2 Ps, the sweeps of the aging timer come too late), so
// once the guard that held them exits they are recycled, without a sweep.
func TestRobustSealsJudgeStrandedSlots(t *testing.T) {
	f := newStrandFixture(t)
	reader := f.c.Enter()
	nodes, _, stuck := f.strand(t, reader)
	f.requireHeldUntilExit(t, reader, nodes, "stranded")
	stuck.Exit()
}

// The seal that judges another slot's batches is made under a guard of its
// own, which may hold nodes of those batches: its own reservation counts
// (the scan leaves the sealing slot out, for its own batches). Here the
// helper's guard loaded the stranded nodes before they were unlinked, and
// seals (64 retires) while it is still open.
func TestRobustSealKeepsWhatItsOwnGuardHoldsInOtherSlots(t *testing.T) {
	f := newStrandFixture(t)
	helper := f.b.Enter()
	nodes, vals, stuck := f.strand(t, helper)
	for range 16 { // 16 seals of b's under helper, judging other slots round robin: a's among them
		for range 64 {
			f.s.push(helper, 1)
			f.s.pop(helper)
		}
	}
	require.Zero(t, f.log.count(nodes), "a seal reclaimed nodes that its own open guard holds")
	for i, n := range nodes { // a node recycled by the pushes above holds 1
		require.Equal(t, vals[i], n.val.Load(), "a node that the helper's open guard holds was recycled")
	}
	helper.Exit()
	f.awaitReclaimed(t, f.b, nodes, "the helper's later seals left the stranded batch pending")
	stuck.Exit()
}

// Flush requests (the aging timer's, here Flush's) move an idle slot's
// batches to the Pool's orphans, which the sweeps judge; seals judge them
// too, one per seal, so that they do not wait for a sweep that may come
// late.
func TestRobustSealsJudgeOrphans(t *testing.T) {
	f := newStrandFixture(t)
	reader := f.c.Enter()
	nodes, _, stuck := f.strand(t, reader)
	stuck.Exit()
	f.c.Flush() // a is idle: its batches become orphans; the reader holds them
	f.requireHeldUntilExit(t, reader, nodes, "orphaned")
}

// A slot whose goroutine waits inside a guard keeps its limbo too: the
// nodes that its earlier guards retired, short of a batch, which its holder
// would seal only when the limbo fills. Other slots' seals take the limbo
// (see pool_steal.go) and recycle those nodes while the guard waits; the
// node that the waiting guard retired itself stays pending until it exits
// and the slot opens another guard (a steal leaves it in the limbo, or
// seals it in a batch marked with the guard's pin).
func TestRobustSealsStealAStrandedLimbo(t *testing.T) {
	f := newStrandFixture(t)
	s, a := f.s, f.a
	g := a.Enter()
	for i := range 32 {
		s.push(g, int64(i))
	}
	g.Exit()
	var earlier []*robustNode
	for range 16 { // 16 guards of a's retire 16 nodes; the 16th moves the era past them
		g := a.Enter()
		earlier = append(earlier, epoch.Load(g, &s.head))
		_, ok := s.pop(g)
		require.True(t, ok)
		g.Exit()
	}
	stuck := a.Enter()
	own := []*robustNode{epoch.Load(stuck, &s.head)}
	_, ok := s.pop(stuck)
	require.True(t, ok)
	f.awaitReclaimed(t, f.b, earlier, "the other slot's seals left the waiting slot's limbo pending")
	f.s.churn(f.b, 256) // more of b's seals, which take a's limbo again
	require.Zero(t, f.log.count(own), "a node that a guard still open retired was reclaimed")
	stuck.Exit()
	a.Enter().Exit() // a new guard on the slot: the waiting guard's mark no longer holds
	f.awaitReclaimed(t, f.b, own, "the other slot's seals left the stolen node pending after its guard exited")
}
