package epoch

import (
	"sync/atomic"

	"github.com/go-reclaim/reclaim/internal/retire"
)

// Retire hands p to the collector: free(p) runs once every guard that might
// hold p has exited. The caller must already have unlinked p, so that no
// guard entered from now on can reach it.
//
// Memory order: every write made before Retire, and every access made under
// any guard that could have loaded p, is synchronized before free(p) runs.
// free runs exactly once, on whichever goroutine reclaims p's batch: a
// later Retire or Pool seal (of any goroutine), Flush, Barrier, Close, or
// the aging timer's own goroutine (WithMaxBatchAge), so it must be safe on
// any goroutine and must not assume it runs inside the caller's calls; it
// may itself Enter and Retire.
//
// Retire does not allocate in steady state. It panics if p or free is nil
// or if g has exited.
func Retire[T any](g *Guard, p *T, free func(*T)) {
	if p == nil {
		panic("epoch: Retire of a nil pointer")
	}
	if free == nil {
		panic("epoch: Retire with a nil free function")
	}
	g.c.retire(g.active("Retire"), retire.Of(p, free))
}

// Defer runs fn once every guard open now (or entered before the objects fn
// releases were unlinked) has exited, with the same guarantee as Retire.
// It panics if fn is nil or g has exited.
func (g *Guard) Defer(fn func()) {
	if fn == nil {
		panic("epoch: Defer with a nil function")
	}
	g.c.retire(g.active("Defer"), retire.Func(fn))
}

// Load loads src under g and returns a pointer that stays safe to
// dereference until g exits. In the classic mode it is src.Load() plus a
// check that g is open: the guard alone protects what it loads. In the
// robust mode (WithRobust) it also keeps g's reservation current (see
// Reserve), and every load of a shared pointer whose target is dereferenced
// must go through Load or Reserve. A load through an exited guard panics.
func Load[T any](g *Guard, src *atomic.Pointer[T]) *T {
	s := g.active("Load")
	x := src.Load()
	if c, p := g.c, &s.Value; c.robust {
		for !(c.current(p) || c.raise(p)) { // reserve, its common case inlined
			x = src.Load()
		}
	}
	return x
}
