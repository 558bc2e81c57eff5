package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/go-reclaim/reclaim/bench/workload"
)

// Every scheme has a color of its own, so that plots tell them apart.
func TestSchemeColors(t *testing.T) {
	seen := map[any]workload.Scheme{}
	for _, sc := range workload.Schemes() {
		c, ok := schemeColors[sc]
		require.True(t, ok, "%s has no color", sc)
		require.NotContains(t, seen, c, "%s has %s's color", sc, seen[c])
		seen[c] = sc
	}
}

// A reused -out keeps no plot of an earlier run: its report would not
// show it, and a reader of plots/ would take it for this run's.
func TestOldPlotsRemoved(t *testing.T) {
	dir := t.TempDir()
	plots := filepath.Join(dir, plotDir)
	require.NoError(t, os.MkdirAll(plots, 0o755))
	old := []string{"throughput-stack-0-100-small.png", "costs-bigmap-90-10-large.png", "pending-robustness.png"}
	kept := []string{"notes.txt", "throughput.svg", "mine.png"}
	for _, f := range append(old, kept...) {
		require.NoError(t, os.WriteFile(filepath.Join(plots, f), nil, 0o644))
	}
	files, pending, err := writePlots(dir, &results{})
	require.NoError(t, err)
	require.Empty(t, files)
	require.Empty(t, pending)
	for _, f := range old {
		require.NoFileExists(t, filepath.Join(plots, f))
	}
	for _, f := range kept {
		require.FileExists(t, filepath.Join(plots, f))
	}
}
