package epoch_test

import (
	"testing"

	"github.com/go-reclaim/reclaim/internal/inlinetest"
)

// Handle.Enter inlines to one call of the collector's enter, Reserve's
// common case and Reservation.Current into the traversals of the robust
// mode, reserve's (current) into Load and Pool.Get, and Open into the checks of
// offheap's Get.
func TestHotPathsInline(t *testing.T) {
	inlinetest.Require(t, "(*Handle).Enter", "(*Guard).Reserve", "Reservation.Current", "(*Guard).Reservation",
		"(*Collector).current", "(*Guard).Open")
}
