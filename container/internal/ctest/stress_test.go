package ctest

import (
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/go-reclaim/reclaim/epoch"
	"github.com/go-reclaim/reclaim/hazard"
	"github.com/go-reclaim/reclaim/stress"
)

// tokens is a queue behind a mutex whose every successful Take retires a
// token object through the scheme, as a container retires the node it
// unlinked; with leak set, every leak-th Take retires nothing.
type tokens struct {
	mu    sync.Mutex
	q     []int
	takes int
	leak  int
	d     *hazard.Domain
}

// tokenView is a tokens used in one Env.
type tokenView struct {
	t *tokens
	e Env
}

func (v tokenView) Put(x int) {
	v.t.mu.Lock()
	defer v.t.mu.Unlock()
	v.t.q = append(v.t.q, x)
}

func (v tokenView) Take() (int, bool) {
	v.t.mu.Lock()
	defer v.t.mu.Unlock()
	if len(v.t.q) == 0 {
		return 0, false
	}
	x := v.t.q[0]
	v.t.q = v.t.q[1:]
	if v.t.takes++; v.t.leak > 0 && v.t.takes%v.t.leak == 0 {
		return x, true // the bug: nothing retired
	}
	switch {
	case v.e.G != nil:
		epoch.Retire(v.e.G, new(int), func(*int) {})
	case v.e.HP != nil:
		hazard.Retire(v.t.d, new(int), func(*int) {})
	}
	return x, true
}

// tokenCase stresses tokens that leak every leak-th retirement (0: none).
func tokenCase(leak int) StressCase[tokenView] {
	return StressCase[tokenView]{
		Model:          stress.QueueModel(),
		HazardPointers: 2,
		HistorySize:    1000,
		Goroutines:     3,
		Open: func(s Scheme) func(Env) tokenView {
			view := func(t *tokens) func(Env) tokenView {
				return func(e Env) tokenView { return tokenView{t, e} }
			}
			return Open(s,
				func() tokenView { return tokenView{t: &tokens{leak: leak}} },
				func(*epoch.Collector) func(*epoch.Guard) tokenView {
					v := view(&tokens{leak: leak})
					return func(g *epoch.Guard) tokenView { return v(Env{G: g}) }
				},
				func(d *hazard.Domain) func(*hazard.Array) tokenView {
					v := view(&tokens{leak: leak, d: d})
					return func(hp *hazard.Array) tokenView {
						if hp.Len() != 2 {
							panic("wrong number of hazard pointers")
						}
						return v(Env{HP: hp})
					}
				})
		},
		Mix: func(r *Round[tokenView], hist *stress.History) stress.Mix {
			return stress.QueueMix(hist,
				func(w *stress.Worker, x int) { r.Do(w, func(v tokenView) { v.Put(x) }) },
				func(w *stress.Worker) (x int, ok bool) {
					r.Do(w, func(v tokenView) { x, ok = v.Take() })
					r.Unlinked(w, ok)
					return x, ok
				})
		},
	}
}

func TestStress(t *testing.T) {
	Stress(t, tokenCase(0))
}

// A structure that unlinks a node without retiring it fails the count
// after Close, with the seed, under every scheme that retires.
func TestStressCountsRetired(t *testing.T) {
	for _, i := range []int{1, 2, 3} {
		got := stress.Capture(t, func(tb testing.TB) { stressRounds(tb, Schemes()[i], tokenCase(7), false) })
		require.True(t, got.Failed(), Names[i])
		require.True(t, got.Contains(Names[i]+": after Close the scheme retired"), got.String())
		require.True(t, got.Contains("seed="), got.String())
	}
}
