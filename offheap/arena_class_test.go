package offheap_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/go-reclaim/reclaim/offheap"
)

// Regions at the size-class boundaries. Each takes exactly its
// rounded size from the budget, is zeroed, has length and capacity n (an
// append cannot run into the slot's padding or a neighbour), and Bytes
// returns the same memory (in place, no copy). 0 and maxRegion+1 are
// ErrSize and take nothing.
func TestArenaClassBoundaries(t *testing.T) {
	c := newCollector(t)
	a := newArena(t, c, 1<<16, 1000) // classes 16 to 1024
	for _, tc := range []struct{ n, class int }{
		{1, 16}, {15, 16}, {16, 16}, {17, 32}, {31, 32}, {32, 32}, {33, 64},
		{512, 512}, {513, 1024}, {999, 1024}, {1000, 1024},
	} {
		before := a.Used()
		r, b, err := a.Alloc(tc.n)
		require.NoError(t, err, "Alloc(%d)", tc.n)
		require.Equal(t, int64(tc.class), a.Used()-before, "Alloc(%d) takes its class from the budget", tc.n)
		require.Equal(t, tc.n, r.Len())
		require.Len(t, b, tc.n)
		require.Equal(t, tc.n, cap(b), "Alloc(%d): the slice reaches past the region", tc.n)
		require.Equal(t, make([]byte, tc.n), b, "Alloc(%d) not zeroed", tc.n)
		for i := range b {
			b[i] = byte(tc.n + i)
		}
		g := c.Enter()
		got, err := a.Bytes(g, r)
		require.NoError(t, err)
		require.Equal(t, tc.n, cap(got))
		require.Same(t, &b[0], &got[0], "Bytes(%d) is not the region in place", tc.n)
		require.True(t, bytes.Equal(b, got))
		require.NoError(t, a.Free(g, r))
		g.Exit()
	}
	for _, n := range []int{0, -1, 1001, 1024} {
		before := a.Used()
		_, _, err := a.Alloc(n)
		require.ErrorIs(t, err, offheap.ErrSize, "Alloc(%d)", n)
		require.Equal(t, before, a.Used())
	}
	barrier(t, c)
	require.Zero(t, a.Used())
	require.NoError(t, a.Close())

	// The largest class exactly fills the budget; a single class of 16.
	a = newArena(t, c, 1024, 1024)
	r, _, err := a.Alloc(1024)
	require.NoError(t, err)
	_, _, err = a.Alloc(1)
	require.ErrorIs(t, err, offheap.ErrFull)
	require.NoError(t, freeRef(c, a, r))
	barrier(t, c)
	require.Zero(t, a.Used())
	for range 64 { // the whole budget in the smallest class
		_, _, err := a.Alloc(1)
		require.NoError(t, err)
	}
	_, _, err = a.Alloc(1)
	require.ErrorIs(t, err, offheap.ErrFull)
	require.NoError(t, a.Close())

	a = newArena(t, c, 64, 16)
	_, _, err = a.Alloc(17)
	require.ErrorIs(t, err, offheap.ErrSize)
	r, _, err = a.Alloc(16)
	require.NoError(t, err)
	require.NoError(t, freeRef(c, a, r))
	require.NoError(t, a.Close())
}

// A Ref whose slot was reused by another region (same class) fails
// cleanly: Bytes does not return the new region's bytes, and Free neither
// succeeds nor frees the new region, which stays readable and freeable.
// The class has four slots and three stay live, so the new region takes
// the old one's slot.
func TestArenaStaleRefAfterItsSlotIsReused(t *testing.T) {
	c := newCollector(t)
	a := newArena(t, c, 64, 16) // one class, four slots, no per-P caches
	var refs []offheap.Ref
	for i := range 4 {
		r, b, err := a.Alloc(10 + i)
		require.NoError(t, err)
		for j := range b {
			b[j] = byte(i + 1)
		}
		refs = append(refs, r)
	}
	old := refs[0]
	require.NoError(t, freeRef(c, a, old))
	barrier(t, c)
	r, b, err := a.Alloc(10) // the only free slot: old's
	require.NoError(t, err)
	for j := range b {
		b[j] = 0xEE
	}
	_, _, err = a.Alloc(1)
	require.ErrorIs(t, err, offheap.ErrFull)

	got, err := bytesOf(c, a, old)
	require.ErrorIs(t, err, offheap.ErrStale, "a stale Ref read %v", got)
	err = freeRef(c, a, old)
	require.Error(t, err)
	require.True(t, errors.Is(err, offheap.ErrStale) || errors.Is(err, offheap.ErrDoubleFree), "%v", err)
	got, err = bytesOf(c, a, r)
	require.NoError(t, err, "the new region was freed through the stale Ref")
	require.Equal(t, bytes.Repeat([]byte{0xEE}, 10), got)
	for _, q := range append(refs[1:], r) {
		require.NoError(t, freeRef(c, a, q))
	}
	barrier(t, c)
	require.Zero(t, a.Used())
	require.NoError(t, a.Close())
}

// The bytes Bytes returned stay as they were until the reader's
// guard exits, although the region is freed and every other slot of its
// class is then allocated and written: the freed slot is not reused while
// the guard is open, so the class is full one region short of its
// capacity (and nothing freed later can come back either).
func TestArenaRegionStableUnderItsGuard(t *testing.T) {
	c := newCollector(t)
	a := newArena(t, c, 64, 16) // four 16-byte slots
	r, b, err := a.Alloc(16)
	require.NoError(t, err)
	for i := range b {
		b[i] = 0x11
	}
	want := bytes.Repeat([]byte{0x11}, 16)
	reader := c.Enter()
	view, err := a.Bytes(reader, r)
	require.NoError(t, err)
	require.NoError(t, freeRef(c, a, r))
	var held []offheap.Ref
	for range 10 {
		q, qb, err := a.Alloc(16)
		if errors.Is(err, offheap.ErrFull) {
			g := c.Enter() // let the epoch move on
			g.Exit()
			continue
		}
		require.NoError(t, err)
		for i := range qb {
			qb[i] = 0xFF
		}
		held = append(held, q)
		if len(held) > 1 { // churn: free one, which cannot come back either
			require.NoError(t, freeRef(c, a, held[0]))
			held = held[1:]
		}
	}
	require.Equal(t, want, view, "a freed region changed under an open guard")
	require.Equal(t, int64(64), a.Used())
	reader.Exit()
	for _, q := range held {
		require.NoError(t, freeRef(c, a, q))
	}
	barrier(t, c)
	require.Zero(t, a.Used())
	require.NoError(t, a.Close())
}
