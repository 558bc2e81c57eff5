package main

import (
	"io"
	"testing"

	"github.com/stretchr/testify/require"
)

// A cell measures its goroutine counts smallest first, each after a
// warm-up of its own, whatever order -goroutines gives them in: a point
// must not run on the state that a larger count's runs left (see runCell).
func TestCellWarmsUpEachCountSmallestFirst(t *testing.T) {
	o, err := parseFlags([]string{"-structures", "stack", "-schemes", "epoch-pool", "-goroutines", "4,1",
		"-reps", "2", "-duration", "5ms", "-micro=false", "-robust", "0"}, io.Discard)
	require.NoError(t, err)
	cells := plan(o)
	require.Len(t, cells, 1)
	bar := newProgress(io.Discard, 0)
	ps, err := runCell(cells[0], o, 0, bar, func() bool { return false })
	require.NoError(t, err)
	require.Len(t, ps, 2)
	require.Equal(t, 1, ps[0].goroutines, "the smallest count first")
	require.Equal(t, 4, ps[1].goroutines)
	for _, p := range ps {
		require.Len(t, p.runs, 2)
	}
	require.Equal(t, 2*(1+2), bar.done, "a warm-up and the runs at each count")
}
