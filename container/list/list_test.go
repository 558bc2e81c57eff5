package list_test

import (
	"math"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/go-reclaim/reclaim/container/internal/ctest"
	"github.com/go-reclaim/reclaim/container/list"
	"github.com/go-reclaim/reclaim/epoch"
	"github.com/go-reclaim/reclaim/hazard"
)

// set is the interface every variant is adapted to.
type set interface {
	Insert(k int) bool
	Delete(k int) bool
	Contains(k int) bool
}

type epochSet struct {
	s *list.Epoch[int]
	c *epoch.Collector
}

func (e epochSet) Insert(k int) bool   { g := e.c.Enter(); defer g.Exit(); return e.s.Insert(g, k) }
func (e epochSet) Delete(k int) bool   { g := e.c.Enter(); defer g.Exit(); return e.s.Delete(g, k) }
func (e epochSet) Contains(k int) bool { g := e.c.Enter(); defer g.Exit(); return e.s.Contains(g, k) }

type hazardSet struct {
	s  *list.Hazard[int]
	hp *hazard.Array
}

func (h hazardSet) Insert(k int) bool   { return h.s.Insert(h.hp, k) }
func (h hazardSet) Delete(k int) bool   { return h.s.Delete(h.hp, k) }
func (h hazardSet) Contains(k int) bool { return h.s.Contains(h.hp, k) }

// open makes a set on scheme s; see ctest.Build.
func open(s ctest.Scheme) func() (set, func()) {
	return ctest.Build(s, list.HazardPointers,
		func() set { return new(list.GC[int]) },
		func(c *epoch.Collector) set { return epochSet{list.NewEpoch[int](c), c} },
		func(d *hazard.Domain) func(*hazard.Array) set {
			l := list.NewHazard[int](d)
			return func(hp *hazard.Array) set { return hazardSet{l, hp} }
		})
}

// TestModel runs random operations from one goroutine and compares every
// result, and the final contents, with a map.
func TestModel(t *testing.T) {
	ctest.Model(t, open, func(rt *rapid.T, s set) (deletes int) {
		model := map[int]bool{}
		key := rapid.IntRange(-8, 8)
		rt.Repeat(map[string]func(*rapid.T){
			"insert": func(rt *rapid.T) {
				k := key.Draw(rt, "k")
				require.Equal(rt, !model[k], s.Insert(k), "Insert(%d)", k)
				model[k] = true
			},
			"delete": func(rt *rapid.T) {
				k := key.Draw(rt, "k")
				require.Equal(rt, model[k], s.Delete(k), "Delete(%d)", k)
				if model[k] {
					deletes++
				}
				delete(model, k)
			},
			"contains": func(rt *rapid.T) {
				k := key.Draw(rt, "k")
				require.Equal(rt, model[k], s.Contains(k), "Contains(%d)", k)
			},
		})
		for k := -9; k <= 9; k++ {
			require.Equal(rt, model[k], s.Contains(k), "final Contains(%d)", k)
		}
		return deletes
	})
}

// TestConcurrent runs goroutines that insert, delete and look up keys of
// two kinds, interleaved in the list so that neighbouring nodes change
// concurrently:
//
//   - own keys (k%(workers+1) == w) that only goroutine w touches: every
//     result must agree with its private model, so no other goroutine may
//     make its insert or delete disappear;
//   - shared keys (k%(workers+1) == workers) that all contend for: a ledger
//     counts successes; per key, inserts minus deletes is 0 or 1, and 1
//     exactly when the key is present at the end.
func TestConcurrent(t *testing.T) {
	const workers, perKind, ops = 4, 8, 40000
	const stride = workers + 1
	ctest.Each(t, open, func(t *testing.T, view func() (set, func())) (deletes int) {
		var mu sync.Mutex
		var ins, del [perKind]int // shared keys
		ctest.Run(workers, 1, func(w int, r *rand.Rand) {
			s, done := view()
			defer done()
			var mine [perKind]bool
			var myIns, myDel [perKind]int
			ownDel := 0
			for range ops {
				i, op := r.IntN(perKind), r.IntN(3)
				if r.IntN(2) == 0 {
					k := i*stride + workers
					switch {
					case op == 0 && s.Insert(k):
						myIns[i]++
					case op == 1 && s.Delete(k):
						myDel[i]++
					case op == 2:
						s.Contains(k)
					}
					continue
				}
				k, ok := i*stride+w, false
				switch op {
				case 0:
					ok = s.Insert(k) == !mine[i]
					mine[i] = true
				case 1:
					if ok = s.Delete(k) == mine[i]; mine[i] {
						ownDel++
					}
					mine[i] = false
				default:
					ok = s.Contains(k) == mine[i]
				}
				if !ok {
					t.Errorf("worker %d: own key %d: result disagrees with its model (present: %v)", w, k, mine[i])
					return
				}
			}
			mu.Lock()
			defer mu.Unlock()
			deletes += ownDel
			for i := range perKind {
				if mine[i] {
					require.True(t, s.Delete(i*stride+w))
					deletes++
				}
				ins[i] += myIns[i]
				del[i] += myDel[i]
				deletes += myDel[i]
			}
		})
		s, done := view()
		for k := range perKind * stride {
			i := k / stride
			if k%stride != workers {
				require.False(t, s.Contains(k), "own key %d left", k)
				continue
			}
			n := ins[i] - del[i]
			require.Containsf(t, []int{0, 1}, n, "shared key %d: %d inserts, %d deletes", k, ins[i], del[i])
			require.Equalf(t, n == 1, s.Contains(k), "shared key %d: %d inserts, %d deletes", k, ins[i], del[i])
		}
		done()
		return deletes
	})
}

func TestHazardArrayTooShort(t *testing.T) {
	d := hazard.New()
	s := list.NewHazard[int](d)
	hp := d.AcquireArray(1)
	require.Panics(t, func() { s.Insert(hp, 1) })
	hp.Release()
	require.NoError(t, d.Close())
}

// Keys are ordered by cmp.Compare: strings, and floats with one NaN.
func TestKeyTypes(t *testing.T) {
	var s list.GC[string]
	for _, k := range []string{"b", "", "a", "ab"} {
		require.True(t, s.Insert(k))
	}
	require.False(t, s.Insert("ab"))
	require.True(t, s.Delete(""))
	require.True(t, s.Contains("ab"))

	var f list.GC[float64]
	require.True(t, f.Insert(math.NaN()))
	require.False(t, f.Insert(math.NaN()), "NaNs are one key")
	require.True(t, f.Contains(math.NaN()))
	require.True(t, f.Insert(0))
	require.False(t, f.Insert(math.Copysign(0, -1)), "-0 is 0")
}
