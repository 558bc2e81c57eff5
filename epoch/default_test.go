package epoch_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/go-reclaim/reclaim/epoch"
)

func TestDefault(t *testing.T) {
	c := epoch.Default()
	require.Same(t, c, epoch.Default())
	freed := 0
	g := c.Enter()
	epoch.Retire(g, new(int), func(*int) { freed++ })
	g.Exit()
	require.NoError(t, c.Barrier(t.Context()))
	require.Equal(t, 1, freed)
	require.PanicsWithValue(t, "epoch: Close of the Default Collector: it is shared by the whole process",
		func() { _ = c.Close() })
	g = c.Enter() // still open
	g.Exit()
}
