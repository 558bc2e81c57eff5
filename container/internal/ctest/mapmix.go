package ctest

import "github.com/go-reclaim/reclaim/stress"

// MapMix is stress.MapMix on the map of r, keys keys, each operation run
// through r.Do: get, put and del are the map's operations on a view, put
// and del reporting whether they unlinked a node (replaced an entry,
// removed one), which r counts.
func MapMix[V any](r *Round[V], hist *stress.History, keys int,
	get func(V, int) (int, bool), put func(V, int, int) bool, del func(V, int) bool,
) stress.Mix {
	return stress.MapMix(hist, keys,
		func(w *stress.Worker, k int) (v int, ok bool) {
			r.Do(w, func(m V) { v, ok = get(m, k) })
			return v, ok
		},
		func(w *stress.Worker, k, v int) {
			replaced := false
			r.Do(w, func(m V) { replaced = put(m, k, v) })
			r.Unlinked(w, replaced) // the old node
		},
		func(w *stress.Worker, k int) (ok bool) {
			r.Do(w, func(m V) { ok = del(m, k) })
			r.Unlinked(w, ok)
			return ok
		})
}
