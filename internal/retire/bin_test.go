package retire

import (
	"testing"
	"unsafe"

	"github.com/stretchr/testify/require"
)

// Free hands a Bin each run of consecutive entries that retire through it,
// whole, and every other entry to its own free function; each object is
// freed once.
func TestFreeHandsBinsTheirRuns(t *testing.T) {
	var runs [][]*obj
	binOf := func() *Bin {
		return NewBin(
			func(p unsafe.Pointer) { (*obj)(p).freed++ },
			func(es []Entry) {
				os := objsOf(es)
				for _, o := range os {
					o.freed++
				}
				runs = append(runs, os)
			})
	}
	a, c := binOf(), binOf()
	os := make([]*obj, 8)
	for i := range os {
		os[i] = new(obj)
	}
	b := &Batch{Entries: []Entry{
		Binned(os[0], a), Binned(os[1], a), // a run of a
		Of(os[2], free),                    // a free function between
		Binned(os[3], a),                   // a again: a run of its own
		Binned(os[4], c), Binned(os[5], c), // another Bin
		Binned(os[6], a), Binned(os[7], a), // a again, to the end
	}}
	k := &keeper{}
	kept := Sweep(b, k)
	require.Equal(t, [][]*obj{{os[0], os[1]}, {os[3]}, {os[4], os[5]}, {os[6], os[7]}}, runs)
	for i, o := range os {
		require.Equal(t, 1, o.freed, "object %d", i)
	}
	require.Equal(t, 8, k.reclaims)
	require.Nil(t, kept.Head())
	require.Equal(t, []*Batch{b}, k.recycled)
	require.Empty(t, b.Entries)
	for i, e := range b.Entries[:len(os)] { // nothing left to keep an object alive
		require.Zero(t, e, "entry %d", i)
	}

	one := new(obj) // an entry reclaimed on its own (Close, a Barrier) frees through one
	e := Binned(one, a)
	e.Reclaim()
	require.Equal(t, 1, one.freed)
}
