package bench

import (
	"runtime"
	"testing"

	"github.com/stretchr/testify/require"
)

// FreeMissTable lets the garbage collector take the *Misses benchmarks'
// table back: it was kept for the life of the process, 96 MiB of pointers
// that every later measurement in it carried as ballast.
func TestFreeMissTableReleasesIt(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a 96 MiB table")
	}
	require.Len(t, missTable(), missNodes)
	FreeMissTable()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	require.Less(t, ms.HeapAlloc, uint64(32<<20), "the table is still live after FreeMissTable")
}
