package offheap_test

import (
	"math"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/go-reclaim/reclaim/epoch"
	"github.com/go-reclaim/reclaim/offheap"
)

func TestArray(t *testing.T) {
	type cell struct{ A, B uint64 }
	a, err := offheap.NewArray[cell](1000)
	require.NoError(t, err)
	require.Equal(t, 1000, a.Len())
	require.Equal(t, 16000, a.Bytes())
	s := a.Slice()
	require.Len(t, s, 1000)
	for i := range s {
		require.Zero(t, s[i], "mapped memory starts zeroed")
		s[i] = cell{uint64(i), ^uint64(i)}
	}
	require.Equal(t, cell{999, ^uint64(999)}, a.Slice()[999])
	require.NoError(t, a.Free())
	require.ErrorIs(t, a.Free(), offheap.ErrDoubleFree)
	require.PanicsWithValue(t, "offheap: Slice of an Array after its Free", func() { a.Slice() })
	require.Equal(t, 1000, a.Len())
}

func TestArrayRejects(t *testing.T) {
	_, err := offheap.NewArray[*int](4)
	require.ErrorIs(t, err, offheap.ErrPointers)
	_, err = offheap.NewArray[struct{ s []byte }](4)
	require.ErrorIs(t, err, offheap.ErrPointers)
	_, err = offheap.NewArray[uint64](0)
	require.ErrorIs(t, err, offheap.ErrSize)
	_, err = offheap.NewArray[struct{}](4)
	require.ErrorIs(t, err, offheap.ErrSize)
	_, err = offheap.NewArray[uint64](math.MaxInt/8 + 1)
	require.ErrorIs(t, err, offheap.ErrSize)
}

// An Array retired through epoch is unmapped after the grace period of the
// guards that could read it.
func TestArrayRetired(t *testing.T) {
	c := epoch.New()
	a, err := offheap.NewArray[uint64](512)
	require.NoError(t, err)
	reader := c.Enter()
	s := a.Slice()
	g := c.Enter()
	epoch.Retire(g, a, (*offheap.Array[uint64]).Release)
	g.Exit()
	c.Flush()
	s[0]++ // still mapped: the reader's guard is open
	reader.Exit()
	require.NoError(t, c.Barrier(t.Context()))
	require.ErrorIs(t, a.Free(), offheap.ErrDoubleFree, "Release ran")
	require.NoError(t, c.Close())
}
