package bench

import (
	"testing"

	"github.com/go-reclaim/reclaim/internal/inlinetest"
)

// hazard.Protect is generic, so the compiler reports whether it inlines
// only where it is instantiated: here, in HazardProtectReset's
// hazard.Protect(hp, &src) on an atomic.Pointer[int]. A protection that is
// a call costs a third more.
func TestProtectInlines(t *testing.T) {
	inlinetest.Require(t, "hazard.Protect[go.shape.int]")
}
