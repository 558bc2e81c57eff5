package fence

import (
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
)

func TestChoose(t *testing.T) {
	for _, sc := range []string{"sc", "SC", " sc\n", "Sc"} {
		if choose(sc) {
			t.Fatalf("RECLAIM_FENCE=%q must force the sequentially consistent mode", sc)
		}
	}
	if choose("") != available() || choose("asymmetric") != available() {
		t.Fatal("without RECLAIM_FENCE=sc the asymmetric mode is used exactly where it is available")
	}
	t.Logf("mode %s on %s/%s", Mode(), runtime.GOOS, runtime.GOARCH)
}

func TestHeavy(t *testing.T) {
	Heavy() // must not panic in either mode
}

// An announcement is a release store: what its owner wrote before it is
// visible to whoever sees the announcement (message passing). A plain
// store would pass on amd64 but not on arm64 hardware, where a hazard
// pointer that re-protects could otherwise let its earlier reads drift past
// the new publication.
func TestAnnounceIsARelease(t *testing.T) {
	for range 2000 {
		var flag atomic.Uint64
		data := 0
		var wg sync.WaitGroup
		wg.Go(func() {
			data = 7
			Announce64(&flag, 1)
		})
		for flag.Load() == 0 {
		}
		if data != 7 {
			t.Fatal("a write before the announcement is not visible to a reader that sees it")
		}
		wg.Wait()
	}
}
