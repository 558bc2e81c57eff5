// Package fencetest has the test helpers of the shared heavy fence, for
// the tests of the packages that use it.
package fencetest

import (
	"testing"

	"github.com/go-reclaim/reclaim/internal/fence"
)

// SkipUnlessAsymmetric skips a test of the shared heavy fence where there
// is none to share.
func SkipUnlessAsymmetric(t testing.TB) {
	t.Helper()
	if !fence.Asymmetric {
		t.Skip("heavy fences are shared only with asymmetric fences (not under -race or RECLAIM_FENCE=sc); CI runs this test without -race")
	}
}
