//go:build !race

package ctest

import "testing"

func TestAllocs(t *testing.T) {
	Allocs(t, openCounter, func(c counter, i int) { c.n.Add(int64(i)) })
}
