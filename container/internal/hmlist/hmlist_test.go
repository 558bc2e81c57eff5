package hmlist

import (
	"testing"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/go-reclaim/reclaim/container/internal/ctest"
	"github.com/go-reclaim/reclaim/epoch"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// The concurrent paths are tested through packages list and hashmap; these
// tests drive the list into the states that a racing goroutine leaves
// behind (a marked node still linked, an unlink that lost its race) and
// check the structure itself.

// eachScheme runs test on a fresh scheme per subtest, with a function that
// returns an Op for the test's goroutine (one guard or Array throughout),
// then closes the scheme and checks that retired nodes were retired to it.
func eachScheme(t *testing.T, retired int, test func(t *testing.T, op func() Op[int, string])) {
	for _, mk := range ctest.Schemes() {
		s := mk()
		t.Run(s.Name, func(t *testing.T) {
			defer ctest.Watchdog(t.Name())()
			op, done := func() Op[int, string] { return Op[int, string]{} }, func() {}
			switch {
			case s.C != nil:
				ns, g := NewEpochNodes[int, string](s.C), s.C.Enter()
				op, done = func() Op[int, string] { return ns.Epoch(g) }, g.Exit
			case s.D != nil:
				ns, hp := NewHazardNodes[int, string](s.D), s.D.AcquireArray(HazardPointers)
				op, done = func() Op[int, string] { return ns.Hazard(hp) }, hp.Release
			}
			test(t, op)
			done()
			ctest.CloseAndCount(t, s, retired)
		})
	}
}

// contents lists the keys of the linked nodes, marked ones with a '*'.
func contents(l *List[int, string]) []string {
	var out []string
	for n, _ := l.head.Load(); n != nil; {
		next, marked := n.next.Load()
		s := n.Val
		if marked {
			s += "*"
		}
		out = append(out, s)
		n = next
	}
	return out
}

func filled(t *testing.T, op func() Op[int, string], keys ...int) *List[int, string] {
	l := new(List[int, string])
	for _, k := range keys {
		require.True(t, l.Insert(op(), k, string(rune('a'+k))))
	}
	return l
}

// nodeAt returns the linked node holding key.
func nodeAt(l *List[int, string], key int) *Node[int, string] {
	for n, _ := l.head.Load(); n != nil; n, _ = n.next.Load() {
		if n.Key == key {
			return n
		}
	}
	return nil
}

func TestSortedDistinct(t *testing.T) {
	eachScheme(t, 0, func(t *testing.T, op func() Op[int, string]) {
		l := filled(t, op, 3, 1, 2, 0)
		require.False(t, l.Insert(op(), 2, "x"))
		require.Equal(t, []string{"a", "b", "c", "d"}, contents(l))
	})
}

// A marked node left linked (its deleter stalled before unlinking) is
// unlinked and retired by the next operation that passes it.
func TestFindUnlinksMarked(t *testing.T) {
	eachScheme(t, 2, func(t *testing.T, op func() Op[int, string]) {
		l := filled(t, op, 0, 1, 2, 3)
		for _, k := range []int{1, 2} {
			n := nodeAt(l, k)
			next, _ := n.next.Load()
			require.True(t, n.next.TryMark(next))
		}
		require.Equal(t, []string{"a", "b*", "c*", "d"}, contents(l))
		_, ok := l.Get(op(), 2)
		require.False(t, ok, "a marked key is absent")
		require.Equal(t, []string{"a", "d"}, contents(l))
	})
}

// When a Delete's unlink loses its race (its prev no longer holds the node),
// a find removes the node instead.
func TestUnlinkFallsBackToFind(t *testing.T) {
	eachScheme(t, 1, func(t *testing.T, op func() Op[int, string]) {
		l := filled(t, op, 0, 1, 2)
		b := nodeAt(l, 1)
		c, _ := b.next.Load()
		require.True(t, b.next.TryMark(c))
		o := op()
		l.unlink(&o, &l.head, b, c) // head holds node 0, not b
		o.done()
		require.Equal(t, []string{"a", "c"}, contents(l))
	})
}

// Put on a present key swaps in a new node; the old one is marked and
// retired, and a Delete after it returns the new value.
func TestReplace(t *testing.T) {
	eachScheme(t, 2, func(t *testing.T, op func() Op[int, string]) {
		l := filled(t, op, 0, 1, 2)
		old := nodeAt(l, 1)
		v, ok := l.Put(op(), 1, "B")
		require.True(t, ok)
		require.Equal(t, "b", v)
		require.NotSame(t, old, nodeAt(l, 1))
		_, marked := old.next.Load()
		require.True(t, marked, "the replaced node is deleted")
		require.Equal(t, []string{"a", "B", "c"}, contents(l))
		v, ok = l.Delete(op(), 1)
		require.True(t, ok)
		require.Equal(t, "B", v)
		_, ok = l.Delete(op(), 1)
		require.False(t, ok)
	})
}

// On a robust collector a guard protects only the nodes its reservation
// covers, so a traversal must reserve each node it enters (protect, by
// marked.Pointer.TryReserve): a node born after the guard entered, and
// reached by it, is then held back until the guard exits.
func TestRobustReservesWhatItEnters(t *testing.T) {
	reclaimed := map[*Node[int, string]]bool{}
	c := epoch.New(epoch.WithRobust(), epoch.WithBatchSize(1), epoch.WithMaxBatchAge(0))
	ns := &Nodes[int, string]{c: c, robust: true, epoch: epoch.NewPool(c,
		epoch.OnReclaim(func(n *Node[int, string]) { reclaimed[n] = true }))}
	l := new(List[int, string])
	writer := c.Register()
	write := func(op func(o Op[int, string])) {
		g := writer.Enter()
		defer g.Exit()
		op(ns.Epoch(g))
	}
	reader := c.Enter()
	// A retire seals a batch, which advances the era past the reader's
	// reservation: the nodes inserted next are born after it.
	write(func(o Op[int, string]) { l.Insert(o, 9, "x") })
	write(func(o Op[int, string]) { l.Delete(o, 9) })
	write(func(o Op[int, string]) { l.Insert(o, 1, "a") })
	write(func(o Op[int, string]) { l.Insert(o, 2, "b") })

	o := ns.Epoch(reader)
	_, cur, found := l.find(&o, 2)
	require.True(t, found)
	require.True(t, reader.Reserve(), "the traversal left the reservation current")

	write(func(o Op[int, string]) { l.Delete(o, 2) })
	c.Flush()
	require.False(t, reclaimed[cur], "a node the reader entered was reclaimed under it")
	require.Equal(t, "b", cur.Val)

	reader.Exit()
	writer.Unregister()
	require.NoError(t, c.Close())
	require.True(t, reclaimed[cur])
	require.Equal(t, uint64(2), c.Stats().Reclaimed)
}
