package epoch_test

import (
	"testing"

	"github.com/go-reclaim/reclaim/epoch"
	"github.com/stretchr/testify/require"
)

// A guard's first reservation, when the era has moved since it entered,
// moves the start of its interval instead of raising its end (the first
// reservation's exception; see reserve): a guard descheduled between Enter
// and its first load does not hold back the Pool nodes born and retired in
// the eras it missed. That must hold on a slot whose previous guard
// reserved at the era the new one enters at, and after a Refresh at the
// era the guard had reserved (a version that kept the previous guard's
// reservation as the new guard's lost the exception in both; an
// independent review found it).
func TestRobustFirstReservationAfterSlotReuseAndRefresh(t *testing.T) {
	for _, tc := range []struct {
		name       string
		priorLoads bool
		refresh    bool
	}{
		{"fresh slot", false, false},
		{"slot whose previous guard reserved at the entry era", true, false},
		{"guard refreshed after reserving at the era it refreshes at", false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := epoch.New(epoch.WithRobust(), epoch.WithMaxBatchAge(0))
			s := newRobustStack(c)
			w, x, y := c.Register(), c.Register(), c.Register()
			if tc.priorLoads {
				g1 := w.Enter()
				epoch.Load(g1, &s.head) // reserves at the era E
				g1.Exit()
			}
			g2 := w.Enter() // enters at E: descheduled before its first load
			if tc.refresh {
				advanceEra(y)
				epoch.Load(g2, &s.head) // raises hi to E+1
				g2.Refresh()            // a new guard at E+1, no pointer kept
			}
			advanceEra(y) // E+1
			gx := x.Enter()
			s.push(gx, 1) // born at E+1
			b := s.head.Load()
			_, ok := s.pop(gx) // retired at E+1, left in x's limbo
			require.True(t, ok)
			gx.Exit()
			advanceEra(y)           // E+2 (y's slot only: b stays unsealed)
			epoch.Load(g2, &s.head) // g2's first reservation, at E+2
			c.Flush()               // takes x's idle slot, sweeps
			require.EqualValues(t, robustPoison, b.val.Load(),
				"a node born and retired in eras the guard missed before its first load is held back")
			g2.Exit()
			w.Unregister()
			x.Unregister()
			y.Unregister()
			require.NoError(t, c.Close())
		})
	}
}
