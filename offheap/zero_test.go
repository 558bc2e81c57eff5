package offheap_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/go-reclaim/reclaim/offheap"
)

// The zero Slab, Arena and Array are not usable (their constructors make
// them): each operation that would otherwise fail with a misleading error
// (ErrFull with "all 0 slots", a guard "of another collector", ErrClosed)
// or a nil dereference panics with a message naming the zero value.
func TestZeroValuesPanicNamingThem(t *testing.T) {
	c := newCollector(t)
	g := c.Enter()
	defer g.Exit()
	ctx := context.Background()
	for name, tc := range map[string]struct {
		want string
		fn   func()
	}{
		"Slab.Alloc": {"offheap: Alloc on a zero Slab: make Slabs with NewSlab", func() {
			var s offheap.Slab[point]
			_, _, _ = s.Alloc()
		}},
		"Slab.Get": {"offheap: Get on a zero Slab: make Slabs with NewSlab", func() {
			var s offheap.Slab[point]
			_, _ = s.Get(g, 0)
		}},
		"Slab.Free": {"offheap: Free on a zero Slab: make Slabs with NewSlab", func() {
			var s offheap.Slab[point]
			_ = s.Free(g, 0)
		}},
		"Slab.Peek": {"offheap: Peek on a zero Slab: make Slabs with NewSlab", func() {
			var s offheap.Slab[point]
			s.Peek(0)
		}},
		"Slab.Close": {"offheap: Close on a zero Slab: make Slabs with NewSlab", func() {
			var s offheap.Slab[point]
			_ = s.CloseContext(ctx)
		}},
		"Arena.Alloc": {"offheap: Alloc on a zero Arena: make Arenas with NewArena", func() {
			var a offheap.Arena
			_, _, _ = a.Alloc(8)
		}},
		"Arena.Bytes": {"offheap: Bytes on a zero Arena: make Arenas with NewArena", func() {
			var a offheap.Arena
			_, _ = a.Bytes(g, offheap.Ref{})
		}},
		"Arena.Free": {"offheap: Free on a zero Arena: make Arenas with NewArena", func() {
			var a offheap.Arena
			_ = a.Free(g, offheap.Ref{})
		}},
		"Arena.Close": {"offheap: Close on a zero Arena: make Arenas with NewArena", func() {
			var a offheap.Arena
			_ = a.Close()
		}},
		"Array.Free": {"offheap: Free of a zero Array: make Arrays with NewArray", func() {
			var a offheap.Array[uint64]
			_ = a.Free()
		}},
	} {
		t.Run(name, func(t *testing.T) { require.PanicsWithValue(t, tc.want, tc.fn) })
	}
	var s offheap.Slab[point]
	require.Zero(t, s.Stats(), "a zero Slab's Stats")
	var a offheap.Arena
	require.Zero(t, a.Used(), "a zero Arena's Used")
}
