//go:build race

package hmlist

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/go-reclaim/reclaim/container/internal/yield"
	"github.com/go-reclaim/reclaim/epoch"
	"github.com/go-reclaim/reclaim/hazard"
)

// A walk under hazard pointers or a robust guard loads a node from a link
// and only then protects it (TryProtect; Reserve or revalidate), and must
// drop the node when that validation fails: another goroutine may have
// unlinked, retired and reclaimed it in between. The -race stress tests of
// list and hashmap reach that window by chance (a robust guard's,
// practically never), so these tests take the other goroutine's steps
// themselves, from yield.Hook, at the yield point inside the window: a walk
// that trusts a node it failed to validate then follows a reclaimed node
// every time. The hook exists only under the race detector, where the
// walks call yield.Point.

// TestWalkDropsWhatFailsValidation deletes key 2 and reclaims its node
// after a Get(4) has loaded the node and before the Get validates it. The
// Get must restart and find 4, which is present throughout; a Get that
// trusts the reclaimed node ends its walk there (see poison) and misses 4.
//
// The steps are keyed by the number of the yield point the Get reaches
// (counting from 1), so they follow the order of the points in find.go.
func TestWalkDropsWhatFailsValidation(t *testing.T) {
	for _, tc := range []struct {
		name  string
		rig   func(*testing.T) *rig
		keys  []int // the list before the Get
		steps func(*rig) map[int]func()
	}{
		// Point 1 comes after the load of the head's node, 2, and before
		// its validation. The robust reader has reserved nothing yet, and
		// node 2 was born after it entered, so nothing holds node 2.
		{"Hazard/Head", hazardRig, []int{2, 4}, func(r *rig) map[int]func() {
			return map[int]func(){1: r.deleteAndReclaim}
		}},
		{"EpochRobust/Head", robustRig, []int{2, 4}, func(r *rig) map[int]func() {
			return map[int]func(){1: r.deleteAndReclaim}
		}},
		// Point 2 comes after the load of node 1's next field, 2, and
		// before its validation.
		{"Hazard/Loop", hazardRig, []int{1, 2, 4}, func(r *rig) map[int]func() {
			return map[int]func(){2: r.deleteAndReclaim}
		}},
		// A robust reader reserves every node born so far when it
		// validates one, so the node it loads next is held, whatever
		// happens to it, unless that node was born after the reservation:
		// linked between the validation of node 1 and the load of its
		// next field, at point 4 (the top of findReserved's loop; points
		// 2 and 3 are in the revalidation of the head's node: the era
		// moved after the reader entered). Point 5 comes after that load.
		{"EpochRobust/Loop", robustRig, []int{1, 4}, func(r *rig) map[int]func() {
			return map[int]func(){
				4: func() {
					r.advance()
					r.write(func(o Op[int, string]) { r.l.Insert(o, 2, "c") })
				},
				5: r.deleteAndReclaim,
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := tc.rig(t)
			defer r.close()
			for _, k := range tc.keys {
				r.write(func(o Op[int, string]) { r.l.Insert(o, k, string(rune('a'+k))) })
			}
			var v string
			var ok bool
			interleaved(tc.steps(r), func() { v, ok = r.l.Get(r.read, 4) })
			require.Len(t, r.reclaimed, 1, "node 2 was reclaimed in the window")
			require.True(t, ok, "Get(4) missed 4, present throughout: it walked on from node 2, reclaimed, after failing to validate it")
			require.Equal(t, "e", v)
		})
	}
}

// interleaved runs walk, taking steps[n] at the nth yield point it reaches
// (counting from 1) as another goroutine would have taken them there. The
// points that the steps' own operations pass are not counted.
func interleaved(steps map[int]func(), walk func()) {
	n := 0
	var hook func()
	hook = func() {
		n++
		if step := steps[n]; step != nil {
			yield.Hook = nil
			step()
			yield.Hook = hook
		}
	}
	yield.Hook = hook
	defer func() { yield.Hook = nil }() // also if walk fails the test
	walk()
}

// rig is a list on one scheme with a reader and a writer, both used from
// the test's goroutine: the writer's operations, and reclaim, stand for
// another goroutine's.
type rig struct {
	l         *List[int, string]
	reclaimed map[*Node[int, string]]bool
	read      Op[int, string]                // the reader's
	write     func(op func(Op[int, string])) // runs op as the writer
	reclaim   func()                         // reclaims the retired nodes that no reader holds
	// advance moves a robust collector's era on: nodes born after it are
	// out of the reader's reservation until the reader reserves again.
	advance func()
	close   func()
}

// poison is the pools' OnReclaim: it records n and ends a walk there (as a
// node zeroed for reuse would), so that a walk that trusts a reclaimed node
// misses the keys behind it.
func (r *rig) poison(n *Node[int, string]) {
	r.reclaimed[n] = true
	n.Key, n.Val = 0, "reclaimed"
	n.next.Store(nil, false)
}

// deleteAndReclaim deletes key 2 as the writer and reclaims its node.
func (r *rig) deleteAndReclaim() {
	r.write(func(o Op[int, string]) { r.l.Delete(o, 2) })
	r.reclaim()
}

func hazardRig(t *testing.T) *rig {
	d := hazard.New()
	r := &rig{l: new(List[int, string]), reclaimed: map[*Node[int, string]]bool{}}
	ns := &Nodes[int, string]{d: d, hazard: hazard.NewPool(d, hazard.OnReclaim(r.poison))}
	reader, writer := d.AcquireArray(HazardPointers), d.AcquireArray(HazardPointers)
	r.read = ns.Hazard(reader)
	r.write = func(op func(Op[int, string])) { op(ns.Hazard(writer)) }
	r.reclaim, r.advance = d.Flush, func() {}
	r.close = func() {
		reader.Release()
		writer.Release()
		require.NoError(t, d.Close())
	}
	return r
}

// robustRig's reader enters first, and the era moves on before any node is
// born. Its collector seals each retirement alone and reclaims only on
// Flush, as in TestRobustReservesWhatItEnters.
func robustRig(t *testing.T) *rig {
	c := epoch.New(epoch.WithRobust(), epoch.WithBatchSize(1), epoch.WithMaxBatchAge(0))
	r := &rig{l: new(List[int, string]), reclaimed: map[*Node[int, string]]bool{}}
	ns := &Nodes[int, string]{c: c, robust: true, epoch: epoch.NewPool(c, epoch.OnReclaim(r.poison))}
	writer := c.Register()
	reader := c.Enter()
	r.read = ns.Epoch(reader)
	r.write = func(op func(Op[int, string])) {
		g := writer.Enter()
		defer g.Exit()
		op(ns.Epoch(g))
	}
	r.reclaim = c.Flush
	r.advance = func() { // a retirement seals a batch, which advances the era
		e := c.Stats().Epoch
		g := writer.Enter()
		epoch.Retire(g, new(int), func(*int) {})
		g.Exit()
		require.Greater(t, c.Stats().Epoch, e, "the era advanced")
	}
	r.advance()
	r.close = func() {
		reader.Exit()
		writer.Unregister()
		require.NoError(t, c.Close())
	}
	return r
}
