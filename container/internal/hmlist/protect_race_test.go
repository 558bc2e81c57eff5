//go:build race

package hmlist

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// These tests take another goroutine's steps at the yield points of a walk
// (see interleave_test.go for the rigs and for how points are numbered:
// hazard, one at the head and one per node after its next load; robust,
// one at the head and two per node, before and after its next load, one
// after each unlink, and in each revalidation one on entry and one between
// each load and its Reserve; the robust rig's first revalidation is the
// head's, points 2 and 3).

// keyed returns the linked node that holds key.
func (r *rig) keyed(t *testing.T, key int) *Node[int, string] {
	t.Helper()
	n := nodeAt(r.l, key)
	require.NotNil(t, n, "node %d is linked", key)
	return n
}

// TestWalkProtectsSuccessorOfUnlinked checks the walks' invariant
// right after they unlink a marked node: the successor they step onto, cur
// now, must be protected (validated through prev's updated link) before
// they dereference it. Another goroutine deletes and reclaims that
// successor while the walk stands on it; it must stay unreclaimed, and the
// walk must find the key behind it, present throughout.
func TestWalkProtectsSuccessorOfUnlinked(t *testing.T) {
	for _, tc := range []struct {
		name  string
		rig   func(*testing.T) *rig
		keys  []int
		mark  int // marked before the Get, 0 if none
		steps func(*testing.T, *rig) map[int]func()
		cur   int // the successor of the unlinked node
	}{
		// Node 2 is marked: at point 3 the walk has loaded (3, marked)
		// from node 2, unlinks node 2 and must protect node 3; at point 4
		// it stands on node 3 (its next field loaded).
		{"Hazard", hazardRig, []int{1, 2, 3, 5}, 2, func(t *testing.T, r *rig) map[int]func() {
			return map[int]func(){4: func() {
				n := r.keyed(t, 3)
				r.write(func(o Op[int, string]) { r.l.Delete(o, 3) })
				r.reclaim()
				require.False(t, r.reclaimed[n], "node 3, the walk's cur after it unlinked node 2, was reclaimed under it")
			}}
		}, 3},
		// A robust walk reserves what was born before its last
		// reservation. At point 6 (top of the loop on node 2) the era
		// moves on, node 3 is born and linked after node 2, and node 2 is
		// marked (a stalled Delete): the walk loads (3, marked) at point
		// 7, unlinks node 2 (point 8) and must reserve node 3 through node
		// 1's link (revalidating: points 9 and 10) before it stands on it
		// at point 11, where node 3 is deleted and reclaimed.
		{"EpochRobust", robustRig, []int{1, 2, 5}, 0, func(t *testing.T, r *rig) map[int]func() {
			return map[int]func(){
				6: func() {
					r.advance()
					r.write(func(o Op[int, string]) { r.l.Insert(o, 3, "d") })
					two := r.keyed(t, 2)
					next, _ := two.next.Load()
					require.True(t, two.next.TryMark(next))
				},
				11: func() {
					n := r.keyed(t, 3)
					r.write(func(o Op[int, string]) { r.l.Delete(o, 3) })
					r.reclaim()
					require.False(t, r.reclaimed[n], "node 3, born after the walk's reservation, was reclaimed under it after it unlinked node 2")
				},
			}
		}, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := tc.rig(t)
			defer r.close()
			for _, k := range tc.keys {
				r.write(func(o Op[int, string]) { r.l.Insert(o, k, string(rune('a'+k))) })
			}
			if tc.mark != 0 {
				n := r.keyed(t, tc.mark)
				next, _ := n.next.Load()
				require.True(t, n.next.TryMark(next))
			}
			steps := tc.steps(t, r)
			ran := 0
			for i, f := range steps {
				steps[i] = func() { ran++; f() }
			}
			var v string
			var ok bool
			interleaved(steps, func() { v, ok = r.l.Get(r.read, 5) })
			require.Equal(t, len(steps), ran, "every step ran")
			require.True(t, ok, "Get(5) missed 5, present throughout")
			require.Equal(t, "f", v)
		})
	}
}

// TestRevalidateRefusesMarkedLink: a robust walk that must revalidate
// the node it loaded (its reservation went stale) may accept it only if the
// link still holds it unmarked. A marked link keeps its pointer after the
// node that owns it is unlinked, and the node it points to may then be
// unlinked and reclaimed too. Here the walk stands on node 1 and loads
// node 2 (born after its reservation); node 1 and then node 2 are deleted
// and node 2 reclaimed, leaving node 1's link (2, marked). The walk must
// restart, not walk into node 2.
func TestRevalidateRefusesMarkedLink(t *testing.T) {
	r := robustRig(t)
	defer r.close()
	for _, k := range []int{1, 4} {
		r.write(func(o Op[int, string]) { r.l.Insert(o, k, string(rune('a'+k))) })
	}
	var two *Node[int, string]
	ran := 0
	steps := map[int]func(){
		// Point 4: top of the loop on node 1, reserved (points 2 and 3
		// are in the revalidation of the head's node 1).
		4: func() {
			ran++
			r.advance()
			r.write(func(o Op[int, string]) { r.l.Insert(o, 2, "c") })
			two = r.keyed(t, 2)
		},
		// Point 5: node 2 loaded from node 1, not yet validated.
		5: func() {
			ran++
			r.write(func(o Op[int, string]) { r.l.Delete(o, 1) })
			r.write(func(o Op[int, string]) { r.l.Delete(o, 2) })
			r.reclaim()
		},
	}
	var v string
	var ok bool
	interleaved(steps, func() { v, ok = r.l.Get(r.read, 4) })
	require.Equal(t, 2, ran, "every step ran")
	require.True(t, r.reclaimed[two], "node 2 was reclaimed in the window")
	require.True(t, ok, "Get(4) missed 4, present throughout: it revalidated node 2 against a marked link")
	require.Equal(t, "e", v)
}

// TestOldValueReadWhileProtected: Delete and Put (replacing) return
// the value of the node they deleted, and must read it while they still
// protect the node. When their own unlink fails (the node that owns prev
// was deleted meanwhile), the find they fall back on reuses both hazard
// pointers and retires the node itself, so the node may be reclaimed before
// that find returns. At point 5 (after the operation's find, before its
// mark) node 1, prev's owner, is deleted; from point 9 on, within the
// fallback find and after it has unlinked node 2, everything retired is
// reclaimed.
func TestOldValueReadWhileProtected(t *testing.T) {
	for _, tc := range []struct {
		name string
		op   func(*rig) (string, bool)
	}{
		{"Delete", func(r *rig) (string, bool) { return r.l.Delete(r.read, 2) }},
		{"Put", func(r *rig) (string, bool) { return r.l.Put(r.read, 2, "X") }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := hazardRig(t)
			defer r.close()
			for _, k := range []int{0, 1, 2, 3} {
				r.write(func(o Op[int, string]) { r.l.Insert(o, k, string(rune('a'+k))) })
			}
			two := r.keyed(t, 2)
			deleted := false
			n := 0
			var v string
			var ok bool
			interleaved(map[int]func(){
				5: func() { deleted = true; r.write(func(o Op[int, string]) { r.l.Delete(o, 1) }) },
				9: func() { n++; r.reclaim() },
			}, func() { v, ok = tc.op(r) })
			require.True(t, deleted && n == 1, "every step ran")
			require.True(t, r.reclaimed[two], "node 2 was reclaimed before the operation returned")
			require.True(t, ok)
			require.Equal(t, "c", v, "the value returned was read after the node was reclaimed")
		})
	}
}
