package ctest

import (
	"testing"

	"pgregory.net/rapid"
)

// Each runs test as a subtest per scheme of Schemes, on a structure that
// open builds on it (see Build). test returns how many nodes it unlinked;
// Each then closes the scheme and checks that exactly those were retired.
func Each[V any](t *testing.T, open func(Scheme) func() (V, func()), test func(t *testing.T, view func() (V, func())) (unlinked int)) {
	for _, mk := range Schemes() {
		s := mk()
		t.Run(s.Name, func(t *testing.T) {
			n := test(t, open(s))
			CloseAndCount(t, s, n)
		})
	}
}

// Model runs rapid.Check per scheme: each run gets a fresh structure and
// one goroutine's view of it; test returns how many nodes it unlinked, and
// Model checks that exactly those were retired.
func Model[V any](t *testing.T, open func(Scheme) func() (V, func()), test func(rt *rapid.T, v V) (unlinked int)) {
	for i, mk := range Schemes() {
		t.Run(Names[i], func(t *testing.T) {
			rapid.Check(t, func(rt *rapid.T) {
				defer Watchdog("a model run")()
				s := mk()
				v, done := open(s)()
				n := test(rt, v)
				done()
				CloseAndCount(rt, s, n)
			})
		})
	}
}

// Loop runs op(v, k) in b.Loop, k cycling through [0, keys).
func Loop[V any](b *testing.B, v V, keys int, op func(v V, k int)) {
	k := 0
	for b.Loop() {
		op(v, k)
		k = (k + 1) % keys
	}
}
