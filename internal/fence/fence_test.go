package fence

import (
	"runtime"
	"testing"
)

func TestChoose(t *testing.T) {
	if choose("sc") {
		t.Fatal(`RECLAIM_FENCE=sc must force the sequentially consistent mode`)
	}
	if choose("") != available() || choose("asymmetric") != available() {
		t.Fatal("without RECLAIM_FENCE=sc the asymmetric mode is used exactly where it is available")
	}
	t.Logf("mode %s on %s/%s", Mode(), runtime.GOOS, runtime.GOARCH)
}

func TestHeavy(t *testing.T) {
	Heavy() // must not panic in either mode
}
