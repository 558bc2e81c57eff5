package epoch_test

import (
	"testing"

	"github.com/go-reclaim/reclaim/internal/inlinetest"
)

// Handle.Enter inlines to one call of the collector's enter, and Reserve's
// common case inlines into the traversals of the robust mode.
func TestHotPathsInline(t *testing.T) {
	inlinetest.Require(t, "(*Handle).Enter", "(*Guard).Reserve")
}
