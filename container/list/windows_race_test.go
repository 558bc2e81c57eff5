//go:build race

// These tests take another goroutine's steps from yield.Hook, at the yield
// points of the list's operations, which exist only under the race
// detector (see container/internal/yield): they make interleavings that
// the concurrent tests reach only by luck happen every time.

package list_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/go-reclaim/reclaim/container/internal/yield"
	"github.com/go-reclaim/reclaim/container/list"
	"github.com/go-reclaim/reclaim/epoch"
	"github.com/go-reclaim/reclaim/hazard"
)

// windowRig is a set on one scheme with a reader and a writer used from
// the test's goroutine: the writer's operations, and flush, stand for
// another goroutine's, taken inside a window of the reader's operation.
type windowRig struct {
	name    string
	reader  set // the operation under test runs on it
	writer  set
	flush   func() // reclaims what no reader holds
	pending func() uint64
	// finish ends the reader and the writer, closes the scheme and
	// returns its final counts.
	finish func(t *testing.T) (retired, reclaimed uint64)
}

// guardSet is an epoch set whose operations run under one fixed guard.
type guardSet struct {
	s *list.Epoch[int]
	g *epoch.Guard
}

func (e guardSet) Insert(k int) bool   { return e.s.Insert(e.g, k) }
func (e guardSet) Delete(k int) bool   { return e.s.Delete(e.g, k) }
func (e guardSet) Contains(k int) bool { return e.s.Contains(e.g, k) }

// handleSet enters a guard of its Handle per operation.
type handleSet struct {
	s *list.Epoch[int]
	h *epoch.Handle
}

func (e handleSet) Insert(k int) bool   { g := e.h.Enter(); defer g.Exit(); return e.s.Insert(g, k) }
func (e handleSet) Delete(k int) bool   { g := e.h.Enter(); defer g.Exit(); return e.s.Delete(g, k) }
func (e handleSet) Contains(k int) bool { g := e.h.Enter(); defer g.Exit(); return e.s.Contains(g, k) }

// windowRigs returns constructors of a rig per pooling scheme. The epoch
// reader's guard is entered first and held for the rig's life; the era
// then moves on before any node is born (a robust reader holds back only
// what its reservation covers). Batches are small and aging is off, so
// reclamation happens at the rig's flushes and at the seals of the
// writer's retirements.
func windowRigs() []namedRig {
	epochRig := func(name string, opts ...epoch.Option) namedRig {
		return namedRig{name, func() *windowRig {
			c := epoch.New(append(opts, epoch.WithBatchSize(4), epoch.WithMaxBatchAge(0))...)
			s := list.NewEpoch[int](c)
			g := c.Enter()
			h := c.Register()
			w := handleSet{s, h}
			w.Insert(-1) // advance the era past the reader's entry
			w.Delete(-1)
			c.Flush()
			return &windowRig{
				name: name, reader: guardSet{s, g}, writer: w, flush: c.Flush,
				pending: func() uint64 { return c.Stats().Pending },
				finish: func(t *testing.T) (uint64, uint64) {
					g.Exit()
					h.Unregister()
					require.NoError(t, c.Close())
					st := c.Stats()
					return st.Retired - 1, st.Reclaimed - 1 // less key -1's node
				},
			}
		}}
	}
	return []namedRig{
		epochRig("Epoch"),
		epochRig("EpochRobust", epoch.WithRobust()),
		{"Hazard", func() *windowRig {
			d := hazard.New(hazard.WithThreshold(8), hazard.WithMaxBatchAge(0))
			s := list.NewHazard[int](d)
			r, w := d.AcquireArray(list.HazardPointers), d.AcquireArray(list.HazardPointers)
			return &windowRig{
				name: "Hazard", reader: hazardSet{s, r}, writer: hazardSet{s, w}, flush: d.Flush,
				pending: func() uint64 { return d.Stats().Pending },
				finish: func(t *testing.T) (uint64, uint64) {
					r.Release()
					w.Release()
					require.NoError(t, d.Close())
					st := d.Stats()
					return st.Retired, st.Reclaimed
				},
			}
		}},
	}
}

type namedRig struct {
	name string
	new  func() *windowRig
}

// points counts the yield points that op passes.
func points(op func()) int {
	n := 0
	yield.Hook = func() { n++ }
	defer func() { yield.Hook = nil }()
	op()
	return n
}

// atPoint runs op, taking step at the nth yield point it passes (counting
// from 1; the points of step's own operations do not count), and reports
// whether the step ran.
func atPoint(n int, step func(), op func()) (ran bool) {
	i := 0
	var hook func()
	hook = func() {
		if i++; i == n {
			yield.Hook = nil
			step()
			ran = true
			yield.Hook = hook
		}
	}
	yield.Hook = hook
	defer func() { yield.Hook = nil }()
	op()
	return ran
}

// counted counts the successful deletes of a set: each unlinked a node,
// which the scheme must retire exactly once.
type counted struct {
	set
	deletes *int
}

func (c counted) Delete(k int) bool {
	ok := c.set.Delete(k)
	if ok {
		*c.deletes++
	}
	return ok
}

// keysOf lists the keys in [lo, hi] that s contains.
func keysOf(s set, lo, hi int) []int {
	var out []int
	for k := lo; k <= hi; k++ {
		if s.Contains(k) {
			out = append(out, k)
		}
	}
	return out
}

// TestOperationWindows takes a writer's steps in the last window of
// a reader's Insert or Delete: for a Delete, between its load of the found
// node's next field and the compare-and-swap that marks it (ops.go); for
// an Insert, the last point of its find, after the node it will link
// before has been validated and before the compare-and-swap on the link
// that holds it. Each case's steps delete nodes the reader holds, or its
// successor, reclaim them, and reinsert keys, so that a recycled node may
// come back at the very link the reader is about to swap (ABA). The
// reader's result, the final contents and the scheme's counts (every
// unlinked node retired and reclaimed exactly once) must be those of the
// linearization in which the writer's steps come first.
func TestOperationWindows(t *testing.T) {
	type tc struct {
		name  string
		keys  []int
		steps func(w set)
		op    func(s set) bool
		want  bool  // the reader's result
		final []int // the contents after both
	}
	cases := []tc{
		{
			// The node the reader found is deleted and its key reinserted:
			// the reader's mark fails, and it deletes the new node.
			name: "Delete/FoundNodeReplaced", keys: []int{1, 2, 3},
			steps: func(w set) { w.Delete(2); w.Insert(2) },
			op:    func(s set) bool { return s.Delete(2) }, want: true, final: []int{1, 3},
		},
		{
			// The successor the reader loaded is deleted and reclaimed; a
			// new key takes its place after the found node, possibly in the
			// recycled node (ABA on the reader's mark): the new key must
			// survive the reader's unlink.
			name: "Delete/SuccessorRecycled", keys: []int{1, 2, 3, 5},
			steps: func(w set) { w.Delete(3); w.Insert(4) },
			op:    func(s set) bool { return s.Delete(2) }, want: true, final: []int{1, 4, 5},
		},
		{
			// As above, with the same key reinserted.
			name: "Delete/SuccessorReinserted", keys: []int{1, 2, 3, 5},
			steps: func(w set) { w.Delete(3); w.Insert(3) },
			op:    func(s set) bool { return s.Delete(2) }, want: true, final: []int{1, 3, 5},
		},
		{
			// The node that owns the reader's prev link is deleted: the
			// reader's unlink fails and its find must unlink the node.
			name: "Delete/PrevOwnerDeleted", keys: []int{1, 2, 3},
			steps: func(w set) { w.Delete(1) },
			op:    func(s set) bool { return s.Delete(2) }, want: true, final: []int{3},
		},
		{
			// The found node is deleted: the key is absent.
			name: "Delete/FoundNodeDeleted", keys: []int{1, 2, 3},
			steps: func(w set) { w.Delete(2) },
			op:    func(s set) bool { return s.Delete(2) }, want: false, final: []int{1, 3},
		},
		{
			// The node that owns the link the Insert will swap is deleted
			// (marked, unlinked, reclaimed): linking after it would lose
			// the key.
			name: "Insert/PrevOwnerDeleted", keys: []int{1, 2, 4},
			steps: func(w set) { w.Delete(2) },
			op:    func(s set) bool { return s.Insert(3) }, want: true, final: []int{1, 3, 4},
		},
		{
			// The node the Insert would link before is deleted and
			// reclaimed, and another key takes its place, possibly in the
			// recycled node.
			name: "Insert/NextRecycled", keys: []int{1, 2, 4, 6},
			steps: func(w set) { w.Delete(4); w.Insert(5) },
			op:    func(s set) bool { return s.Insert(3) }, want: true, final: []int{1, 2, 3, 5, 6},
		},
		{
			// The key is inserted by the writer in the window.
			name: "Insert/KeyInsertedFirst", keys: []int{1, 2, 4},
			steps: func(w set) { w.Insert(3) },
			op:    func(s set) bool { return s.Insert(3) }, want: false, final: []int{1, 2, 3, 4},
		},
	}
	for _, mk := range windowRigs() {
		for _, c := range cases {
			t.Run(mk.name+"/"+c.name, func(t *testing.T) {
				// A dry run on a fresh list finds the operation's last point.
				dry := mk.new()
				for _, k := range c.keys {
					require.True(t, dry.writer.Insert(k))
				}
				last := points(func() { c.op(dry.reader) })
				dry.finish(t)

				r := mk.new()
				deletes := 0
				w, rd := counted{r.writer, &deletes}, counted{r.reader, &deletes}
				for _, k := range c.keys {
					require.True(t, w.Insert(k))
				}
				var got bool
				ran := atPoint(last, func() {
					c.steps(w)
					r.flush()
				}, func() { got = c.op(rd) })
				require.True(t, ran, "the steps ran")
				require.Equal(t, c.want, got, "the reader's result")
				require.Equal(t, c.final, keysOf(w, 0, 9), "contents")
				for _, k := range c.final {
					require.True(t, w.Delete(k))
				}
				retired, reclaimed := r.finish(t)
				require.Equal(t, uint64(deletes), retired, "every unlinked node retired exactly once")
				require.Equal(t, retired, reclaimed, "and reclaimed")
			})
		}
	}
}

// TestStalledWalk stops a reader's Contains in the middle of its
// walk, just after it has loaded the next field of the node it stands on
// (the loaded successor not yet protected), and meanwhile runs a writer
// that deletes and reinserts every key around it thousands of times,
// flushing as it goes: the nodes the reader holds are deleted, everything
// else is reclaimed and reused, and the walk's neighbourhood ends up made
// of recycled nodes of keys past the one it looks for.
//
//   - The reader must then still find its key, present throughout: a walk
//     that trusted the successor it had loaded but not validated would
//     follow a recycled node.
//   - Under hazard pointers and a robust guard the pending nodes must stay
//     bounded while the reader is stalled (package list's doc: "memory
//     stays bounded whatever readers do"); a classic guard holds back
//     everything, which shows that the writer did retire that much.
func TestStalledWalk(t *testing.T) {
	const target, rounds, tail = 8, 300, 128
	churn := []int{1, 2, 3, 4, 5, 6, 7, 9}
	for _, mk := range windowRigs() {
		t.Run(mk.name, func(t *testing.T) {
			r := mk.new()
			for _, k := range append([]int{0, target}, churn...) {
				require.True(t, r.writer.Insert(k))
			}
			// The reader stands on node 3, its successor 4 loaded. Hazard:
			// point 1 is the head's, then one per node after its next
			// load. Robust: two per node, before and after. Classic:
			// one per node.
			at := map[string]int{"Hazard": 1 + 4, "EpochRobust": 1 + 2*4, "Epoch": 4}[r.name]
			deletes := 0
			var peak uint64
			var found bool
			ran := atPoint(at, func() {
				for i := range rounds {
					for _, k := range churn {
						require.True(t, r.writer.Delete(k))
						deletes++
						require.True(t, r.writer.Insert(k))
					}
					if i%16 == 0 {
						r.flush()
						peak = max(peak, r.pending())
					}
				}
				// Leave only 0 and the target before the walk's key, and
				// hand every free node out again, linked past it.
				for _, k := range churn {
					require.True(t, r.writer.Delete(k))
					deletes++
				}
				r.flush()
				peak = max(peak, r.pending())
				for k := range tail {
					require.True(t, r.writer.Insert(100+k))
				}
			}, func() { found = r.reader.Contains(target) })
			require.True(t, ran)
			require.True(t, found, "Contains(%d) missed a key present throughout", target)
			retiredWhileStalled := uint64(deletes)
			switch r.name {
			case "Epoch":
				require.Greater(t, peak, retiredWhileStalled/2, "a classic guard holds back what was retired while it was open")
			default:
				// Hazard: at most the reader's two protected nodes. Robust:
				// the nodes alive at the reader's reservation (ten) and what
				// was born in the same era and in unsealed batches.
				require.Less(t, peak, uint64(64), "pending grew while the reader was stalled: %d of %d retired", peak, retiredWhileStalled)
			}
			t.Logf("%s: peak pending %d of %d retired while the reader was stalled", r.name, peak, retiredWhileStalled)
			require.Equal(t, []int{0, target}, keysOf(r.writer, 0, 99))
			for _, k := range append([]int{0, target}, rangeKeys(100, tail)...) {
				require.True(t, r.writer.Delete(k))
				deletes++
			}
			retired, reclaimed := r.finish(t)
			require.Equal(t, uint64(deletes), retired, "every unlinked node retired exactly once")
			require.Equal(t, retired, reclaimed)
		})
	}
}

func rangeKeys(from, n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = from + i
	}
	return out
}
