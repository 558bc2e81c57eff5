package epoch_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/go-reclaim/reclaim/epoch"
	"github.com/go-reclaim/reclaim/internal/race"
)

// Current reports what Reserve's common case reports, without raising:
// false for a guard that has reserved nothing yet (also after a Refresh at
// a new era) and once the era has moved, true after a Reserve until the
// era moves again.
func TestReservationCurrent(t *testing.T) {
	c := epoch.New(epoch.WithRobust(), epoch.WithMaxBatchAge(0))
	o := c.Register()
	g := c.Enter()
	r := g.Reservation()
	require.False(t, r.Current(), "a guard that has reserved nothing yet")
	require.True(t, g.Reserve(), "the era has not moved since Enter")
	require.True(t, r.Current())
	advanceEra(o)
	require.False(t, r.Current(), "the era moved")
	require.False(t, r.Current(), "Current does not raise the reservation")
	require.False(t, g.Reserve(), "Reserve raises it")
	require.True(t, r.Current())
	advanceEra(o)
	g.Refresh() // a fresh guard at the new era: its reservation starts again
	require.False(t, r.Current(), "a Refresh at a new era")
	g.Exit()
	o.Unregister()
	require.NoError(t, c.Close())
}

// In the classic mode Reserve always reports true, and a traversal that
// checks r.Current() || g.Reserve() does too.
func TestReservationClassic(t *testing.T) {
	c := epoch.New(epoch.WithMaxBatchAge(0))
	o := c.Register()
	g := c.Enter()
	r := g.Reservation()
	advanceEra(o)
	require.True(t, r.Current() || g.Reserve())
	g.Exit()
	o.Unregister()
	require.NoError(t, c.Close())
}

func TestReservationMisuse(t *testing.T) {
	c := epoch.New(epoch.WithRobust())
	require.PanicsWithValue(t, "epoch: Current on a zero Reservation: take one from Guard.Reservation",
		func() { epoch.Reservation{}.Current() })
	g := c.Enter()
	r := g.Reservation()
	g.Exit()
	require.PanicsWithValue(t, "epoch: Reservation through a guard that has already exited",
		func() { g.Reservation() })
	if race.Enabled { // without the race detector, Current after Exit is unchecked
		require.PanicsWithValue(t, "epoch: Reservation.Current through a guard that has already exited",
			func() { r.Current() })
	}
	require.NoError(t, c.Close())
}
