//go:build race

package hmlist

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// TestWalkHoldsPrevsNode checks the other half of the walks' invariant:
// when a walk stands on cur, the node that owns prev is protected too (the
// callers compare-and-swap prev's link after find returns). At the last
// yield point of a Get, another goroutine deletes and reclaims a node the
// walk has passed and now holds as prev's node: it must stay unreclaimed.
// The cases also reach that point after an unlink of a marked node (the
// walk's own) and after a restart with the hazard walk's two pointers
// swapped an odd number of times.
func TestWalkHoldsPrevsNode(t *testing.T) {
	del := func(r *rig, k int) func() {
		return func() {
			r.write(func(o Op[int, string]) { r.l.Delete(o, k) })
			r.reclaim()
		}
	}
	for _, tc := range []struct {
		name  string
		rig   func(*testing.T) *rig
		keys  []int
		mark  int // a node to mark (delete logically) before the Get, 0 if none
		get   int
		steps func(*rig) map[int]func()
		held  int // the key whose node must not be reclaimed
	}{
		// Points: 1 head; then one per node visited (after its next load).
		// At point 4 the Get stands on 4 with prev = &node2.next.
		{"Hazard/Advance", hazardRig, []int{1, 2, 4}, 0, 4, func(r *rig) map[int]func() {
			return map[int]func(){4: del(r, 2)}
		}, 2},
		// Robust: two points per node (before and after the next load);
		// point 7 is after the load of node 4's next.
		{"EpochRobust/Advance", robustRig, []int{1, 2, 4}, 0, 4, func(r *rig) map[int]func() {
			return map[int]func(){7: del(r, 2)}
		}, 2},
		// Node 3 is marked: the Get unlinks it from node 2 (point 4),
		// protects 5 from node 2's link and stands on 5 at point 5.
		{"Hazard/AfterUnlink", hazardRig, []int{1, 2, 3, 5}, 3, 5, func(r *rig) map[int]func() {
			return map[int]func(){5: del(r, 2)}
		}, 2},
		{"EpochRobust/AfterUnlink", robustRig, []int{1, 2, 3, 5}, 3, 5, func(r *rig) map[int]func() {
			return map[int]func(){9: del(r, 2)}
		}, 2},
		// At point 2 (on node 1, next = 2 loaded) node 2 is deleted: the
		// walk advances (one swap), fails to validate 2 and restarts with
		// its pointers swapped; it then walks 1, 4, 5 and stands on 5 at
		// point 6, with prev = &node4.next.
		{"Hazard/AfterRetry", hazardRig, []int{1, 2, 4, 5}, 0, 5, func(r *rig) map[int]func() {
			return map[int]func(){2: del(r, 2), 6: del(r, 4)}
		}, 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := tc.rig(t)
			defer r.close()
			for _, k := range tc.keys {
				r.write(func(o Op[int, string]) { r.l.Insert(o, k, string(rune('a'+k))) })
			}
			keys := map[*Node[int, string]]int{}
			var heldNode *Node[int, string]
			for n, _ := r.l.head.Load(); n != nil; n, _ = n.next.Load() {
				keys[n] = n.Key
				if n.Key == tc.held {
					heldNode = n
				}
				if n.Key == tc.mark {
					next, _ := n.next.Load()
					require.True(t, n.next.TryMark(next))
				}
			}
			var v string
			var ok bool
			steps := tc.steps(r)
			ran := 0
			for i, f := range steps {
				steps[i] = func() { ran++; f() }
			}
			interleaved(steps, func() { v, ok = r.l.Get(r.read, tc.get) })
			require.Equal(t, len(steps), ran, "every step ran")
			_, present := r.l.Get(r.read, tc.held)
			require.False(t, present, "the step deleted %d", tc.held)
			require.True(t, ok)
			require.Equal(t, string(rune('a'+tc.get)), v)
			require.False(t, r.reclaimed[heldNode], "node %d, prev's node when the walk stood on its cur, was reclaimed", tc.held)
			var got []int
			for n := range r.reclaimed {
				got = append(got, keys[n])
			}
			t.Logf("reclaimed keys: %v", got)
		})
	}
}
