package main

import (
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
