//go:build race

package hmlist

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// TestRobustUnlinkRevalidatesSuccessor: after a robust walk unlinks a
// marked node, it stands on the successor it loaded from that node's
// frozen link, which may have been born after its reservation. The unlink
// shows that the successor was linked at that moment only: the walk must
// reserve it and check again, through prev, that it is still linked
// (Reserve or revalidate), before it dereferences it. At point 6 (top of
// the loop on node 2; points 2 and 3 are in the head's revalidation) the
// era moves on, node 3 is born and linked after node 2, and node 2 is
// marked; at point 7 the walk loads (3, marked) and unlinks node 2. At
// point 8, between that unlink and the reservation,
// node 3 is deleted and reclaimed (poisoned: key 0, next nil). A walk that
// trusted node 3 without the revalidation ends there and misses 5.
func TestRobustUnlinkRevalidatesSuccessor(t *testing.T) {
	r := robustRig(t)
	defer r.close()
	for _, k := range []int{1, 2, 5} {
		r.write(func(o Op[int, string]) { r.l.Insert(o, k, string(rune('a'+k))) })
	}
	var three *Node[int, string]
	ran := 0
	steps := map[int]func(){
		6: func() {
			ran++
			r.advance()
			r.write(func(o Op[int, string]) { r.l.Insert(o, 3, "d") })
			three = r.keyed(t, 3)
			two := r.keyed(t, 2)
			next, _ := two.next.Load()
			require.True(t, two.next.TryMark(next))
		},
		8: func() {
			ran++
			require.Nil(t, nodeAt(r.l, 2), "the walk unlinked node 2")
			r.write(func(o Op[int, string]) { r.l.Delete(o, 3) })
			r.reclaim()
		},
	}
	var v string
	var ok bool
	interleaved(steps, func() { v, ok = r.l.Get(r.read, 5) })
	require.Equal(t, 2, ran, "every step ran")
	require.True(t, r.reclaimed[three], "node 3, born after the walk's reservation, was reclaimed in the window")
	require.True(t, ok, "Get(5) missed 5, present throughout: it walked into node 3, reclaimed after it unlinked node 2")
	require.Equal(t, "f", v)
}

// TestRevalidateReservesWhatItReloads: a robust walk whose Reserve moved
// its reservation revalidates the node p it loaded: it loads the link again
// and must repeat until a Reserve finds the reservation current, since
// the node the reload returns may be p reused, born after the reservation
// moved, and deleted and reclaimed before the Reserve that follows. Get(4)
// on [2 4]: at point 1, after the load of node 2 from the head and before
// its reservation, node 2 is deleted and reclaimed (the reader has
// reserved nothing). At point 2, on entry to the revalidation, the era
// moves on and node 2 comes back from the pool, born now, with key 2, and
// is linked at the head. At point 3, between the revalidation's load,
// which finds node 2 there again, and its Reserve, node 2 is deleted and
// reclaimed again (poisoned: key 0, next nil). A walk that trusted it after
// one load ends there and misses 4.
//
// Reuse goes through a sync.Pool, which under the race detector drops a
// quarter of what it is given: an attempt whose Gets do not return node 2
// proves nothing, and the test tries again (each attempt must still find
// 4).
func TestRevalidateReservesWhatItReloads(t *testing.T) {
	for attempt := 0; ; attempt++ {
		require.Less(t, attempt, 100, "node 2 was never reused")
		if revalidateReservesWhatItReloads(t) {
			t.Logf("node 2 reused at attempt %d", attempt+1)
			return
		}
	}
}

// revalidateReservesWhatItReloads runs one attempt of
// TestRevalidateReservesWhatItReloads and reports whether node 2 was reused.
func revalidateReservesWhatItReloads(t *testing.T) bool {
	r := robustRig(t)
	defer r.close()
	for _, k := range []int{2, 4} {
		r.write(func(o Op[int, string]) { r.l.Insert(o, k, string(rune('a'+k))) })
	}
	two := r.keyed(t, 2)
	reused, ran := false, 0
	steps := map[int]func(){
		1: func() {
			ran++
			r.deleteAndReclaim()
			require.True(t, r.reclaimed[two], "node 2 was reclaimed before the reservation")
		},
		2: func() {
			ran++
			r.advance()
			r.write(func(o Op[int, string]) {
				for range 64 {
					if n := o.alloc(2, "c"); n == two {
						reused = true
						break
					}
				}
			})
			if !reused {
				return
			}
			delete(r.reclaimed, two)
			four := r.keyed(t, 4)
			two.next.Store(four, false)
			require.True(t, r.l.head.CompareAndSwap(four, false, two, false))
		},
		3: func() {
			if !reused {
				return // another point: the revalidation failed
			}
			ran++
			require.Same(t, two, r.keyed(t, 2))
			r.write(func(o Op[int, string]) { r.l.Delete(o, 2) })
			r.reclaim()
			require.True(t, r.reclaimed[two], "node 2, reused after the reservation moved, was reclaimed in the window")
		},
	}
	var v string
	var ok bool
	interleaved(steps, func() { v, ok = r.l.Get(r.read, 4) })
	if reused {
		require.Equal(t, 3, ran, "every step ran")
	}
	require.True(t, ok, "Get(4) missed 4, present throughout: it revalidated node 2 with one load and walked into it, reclaimed")
	require.Equal(t, "e", v)
	return reused
}
