package hashmap_test

import (
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/go-reclaim/reclaim/container/hashmap"
	"github.com/go-reclaim/reclaim/container/internal/ctest"
	"github.com/go-reclaim/reclaim/epoch"
	"github.com/go-reclaim/reclaim/hazard"
)

// kv is the interface every variant is adapted to.
type kv interface {
	Get(k int) (int, bool)
	Put(k, v int) (int, bool)
	Delete(k int) (int, bool)
}

type epochMap struct {
	m *hashmap.Epoch[int, int]
	c *epoch.Collector
}

func (e epochMap) Get(k int) (int, bool) { g := e.c.Enter(); defer g.Exit(); return e.m.Get(g, k) }
func (e epochMap) Put(k, v int) (int, bool) {
	g := e.c.Enter()
	defer g.Exit()
	return e.m.Put(g, k, v)
}
func (e epochMap) Delete(k int) (int, bool) {
	g := e.c.Enter()
	defer g.Exit()
	return e.m.Delete(g, k)
}

type hazardMap struct {
	m  *hashmap.Hazard[int, int]
	hp *hazard.Array
}

func (h hazardMap) Get(k int) (int, bool)    { return h.m.Get(h.hp, k) }
func (h hazardMap) Put(k, v int) (int, bool) { return h.m.Put(h.hp, k, v) }
func (h hazardMap) Delete(k int) (int, bool) { return h.m.Delete(h.hp, k) }

// open makes a map of the given number of buckets on scheme s; see
// ctest.Build.
func open(s ctest.Scheme, buckets int) func() (kv, func()) {
	return ctest.Build(s, hashmap.HazardPointers,
		func() kv { return hashmap.NewGC[int, int](buckets) },
		func(c *epoch.Collector) kv { return epochMap{hashmap.NewEpoch[int, int](c, buckets), c} },
		func(d *hazard.Domain) func(*hazard.Array) kv {
			m := hashmap.NewHazard[int, int](d, buckets)
			return func(hp *hazard.Array) kv { return hazardMap{m, hp} }
		})
}

// opener returns open for maps of the given number of buckets.
func opener(buckets int) func(ctest.Scheme) func() (kv, func()) {
	return func(s ctest.Scheme) func() (kv, func()) { return open(s, buckets) }
}

// TestModel runs random operations from one goroutine on a map of two
// buckets (so that keys share lists) and compares every result, and the
// final contents, with a Go map.
func TestModel(t *testing.T) {
	ctest.Model(t, opener(2), func(rt *rapid.T, m kv) (unlinked int) {
		model := map[int]int{}
		key := rapid.IntRange(-8, 8)
		check := func(rt *rapid.T, what string, k, wantV int, wantOK bool, v int, ok bool) {
			require.Equal(rt, wantOK, ok, "%s(%d) ok", what, k)
			if ok {
				require.Equal(rt, wantV, v, "%s(%d) value", what, k)
			}
		}
		rt.Repeat(map[string]func(*rapid.T){
			"get": func(rt *rapid.T) {
				k := key.Draw(rt, "k")
				want, in := model[k]
				v, ok := m.Get(k)
				check(rt, "Get", k, want, in, v, ok)
			},
			"put": func(rt *rapid.T) {
				k, x := key.Draw(rt, "k"), rapid.Int().Draw(rt, "v")
				want, in := model[k]
				v, ok := m.Put(k, x)
				check(rt, "Put", k, want, in, v, ok)
				model[k] = x
				if in {
					unlinked++
				}
			},
			"delete": func(rt *rapid.T) {
				k := key.Draw(rt, "k")
				want, in := model[k]
				v, ok := m.Delete(k)
				check(rt, "Delete", k, want, in, v, ok)
				delete(model, k)
				if in {
					unlinked++
				}
			},
		})
		for k := -9; k <= 9; k++ {
			want, in := model[k]
			v, ok := m.Get(k)
			check(rt, "final Get", k, want, in, v, ok)
		}
		return unlinked // deleted or replaced nodes
	})
}

// TestConcurrent runs goroutines that put, delete and get keys of two
// kinds on a map with fewer buckets than keys:
//
//   - own keys that only goroutine w touches: every result, values
//     included, must agree with its private model;
//   - shared keys that all contend for, each put with a value used once:
//     the ledger requires that every value put leaves exactly once,
//     returned as the old value of a Put or Delete, or still in the map at
//     the end; nothing lost, nothing duplicated.
func TestConcurrent(t *testing.T) {
	const workers, perKind, ops = 4, 8, 30000
	const stride = workers + 1 // k%stride == workers: shared
	ctest.Each(t, opener(4), func(t *testing.T, view func() (kv, func())) (unlinked int) {
		var mu sync.Mutex
		out := map[int]int{} // shared-key values seen leaving, and how often
		puts := 0
		ctest.Run(workers, 1, func(w int, r *rand.Rand) {
			m, done := view()
			defer done()
			mine := map[int]int{}
			var gone []int
			myUnlinked, myPuts := 0, 0
			for seq := range ops {
				i, op := r.IntN(perKind), r.IntN(3)
				if r.IntN(2) == 0 {
					k, x := i*stride+workers, w*ops+seq
					var v int
					var ok bool
					switch op {
					case 0:
						v, ok = m.Put(k, x)
						myPuts++
					case 1:
						v, ok = m.Delete(k)
					default:
						m.Get(k)
					}
					if ok {
						gone = append(gone, v)
						myUnlinked++
					}
					continue
				}
				k, x := i*stride+w, seq
				want, in := mine[k]
				var v int
				var ok bool
				switch op {
				case 0:
					v, ok = m.Put(k, x)
					mine[k] = x
				case 1:
					v, ok = m.Delete(k)
					delete(mine, k)
				default:
					v, ok = m.Get(k)
				}
				if ok != in || ok && v != want {
					t.Errorf("worker %d: own key %d: got (%d, %v), want (%d, %v)", w, k, v, ok, want, in)
					return
				}
				if ok && op != 2 {
					myUnlinked++
				}
			}
			for k := range mine {
				_, ok := m.Delete(k)
				require.True(t, ok)
				myUnlinked++
			}
			mu.Lock()
			defer mu.Unlock()
			for _, v := range gone {
				out[v]++
			}
			unlinked += myUnlinked
			puts += myPuts
		})
		m, done := view()
		for k := range perKind * stride {
			v, ok := m.Get(k)
			if k%stride != workers {
				require.False(t, ok, "own key %d left", k)
			} else if ok {
				out[v]++
			}
		}
		done()
		require.Len(t, out, puts, "every shared value put leaves exactly once")
		for v, n := range out {
			require.Equal(t, 1, n, "value %d left %d times", v, n)
		}
		return unlinked
	})
}

// TestReplaceNeverAbsent has one goroutine replace a key's value with
// increasing numbers while others read it: a reader must always find the
// key (a replacement is one step, not a delete and an insert) and never see
// the value go back.
func TestReplaceNeverAbsent(t *testing.T) {
	const readers, puts = 3, 20000
	ctest.Each(t, opener(1), func(t *testing.T, view func() (kv, func())) int {
		m, done := view()
		m.Put(7, 0)
		m.Put(8, 0) // a neighbour in the same bucket
		done()
		var stop atomic.Bool // the writer has returned
		ctest.Run(readers+1, 2, func(w int, _ *rand.Rand) {
			m, done := view()
			defer done()
			if w == readers {
				defer stop.Store(true)
				for x := 1; x <= puts; x++ {
					if old, ok := m.Put(7, x); !ok || old != x-1 {
						t.Errorf("Put(7, %d) replaced (%d, %v)", x, old, ok)
						return
					}
				}
				return
			}
			for last := 0; last < puts && !stop.Load(); {
				v, ok := m.Get(7)
				if !ok || v < last {
					t.Errorf("reader %d: Get(7) = (%d, %v) after %d", w, v, ok, last)
					return
				}
				last = v
			}
		})
		return puts // each replaced a node
	})
}

func TestBuckets(t *testing.T) {
	for n, want := range map[int]int{1: 1, 2: 2, 3: 4, 5: 8, 64: 64, 1000: 1024} {
		require.Equal(t, want, hashmap.NewGC[int, int](n).Buckets(), "NewGC(%d)", n)
	}
	require.PanicsWithValue(t, "hashmap: bucket count must be at least 1", func() { hashmap.NewGC[int, int](0) })
}

func TestStringKeys(t *testing.T) {
	m := hashmap.NewGC[string, []byte](4)
	for _, k := range []string{"", "a", "b", "ab", "ba"} {
		_, replaced := m.Put(k, []byte(k))
		require.False(t, replaced)
	}
	v, ok := m.Get("ab")
	require.True(t, ok)
	require.Equal(t, []byte("ab"), v)
	_, ok = m.Delete("")
	require.True(t, ok)
	_, ok = m.Get("")
	require.False(t, ok)
}
