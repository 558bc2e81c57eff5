package epoch

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// reserveModel is the reservation's state machine as a model: what reserve
// reports and leaves in reserved, from and hi, given reserved (0 while the
// guard has reserved nothing), the entry era word and the era.
func reserveModel(reserved, word, era uint64) (ok bool, newReserved, from, hi uint64) {
	if reserved == era {
		return true, reserved, 0, 0
	}
	if reserved == 0 {
		if era == word {
			return true, era, 0, 0
		}
		return false, era, era, 0
	}
	return false, era, 0, era
}

// checkReserve runs reserve on p and compares it with the model;
// it also checks the invariant reserved == 0 || reserved >= word.
func checkReserve(t *testing.T, c *Collector, p *participant, where string) bool {
	t.Helper()
	w := p.word.Load()
	require.NotZero(t, w, "%s: word 0 with a guard open", where)
	require.True(t, p.reserved == 0 || p.reserved >= w, "%s: reserved %d below the entry era %d", where, p.reserved, w)
	era := c.epoch.Load()
	ok0, r0, f0, h0 := reserveModel(p.reserved, w, era)
	fromBefore, hiBefore := p.from.Load(), p.hi.Load()
	ok := c.reserve(p)
	f, h := p.from.Load(), p.hi.Load()
	if f == fromBefore {
		f = 0
	}
	if h == hiBefore {
		h = 0
	}
	if ok != ok0 || p.reserved != r0 || f != f0 || h != h0 {
		t.Fatalf("%s: reserve (ok %v reserved %d from %d hi %d) != model (ok %v reserved %d from %d hi %d)", where, ok, p.reserved, f, h, ok0, r0, f0, h0)
	}
	return ok
}

// reserve matches its model in every small state where reserved is 0 or
// between the entry era and the era.
func TestReserveMatchesItsModel(t *testing.T) {
	c := New(WithRobust(), WithMaxBatchAge(0))
	defer c.Close()
	for word := uint64(1); word <= 4; word++ {
		for era := word; era <= 5; era++ {
			for _, reserved := range []uint64{0, 1, 2, 3, 4, 5} {
				if reserved != 0 && (reserved < word || reserved > era) {
					continue
				}
				var p participant
				p.word.Store(word)
				p.reserved = reserved
				c.epoch.Store(era)
				checkReserve(t, c, &p, "model")
			}
		}
	}
}

// reserve matches its model in the states that Enter, nested guards of a
// Handle (the outer one exiting first), Refresh, Retire, a claimed slot
// (Enter waits, the era moves) and pooled slots lead to.
func TestReserveMatchesItsModelInScenarios(t *testing.T) {
	c := New(WithRobust(), WithMaxBatchAge(0))
	h := c.Register()
	p := &h.s.Value
	adv := func() { c.epoch.Add(1) }

	// A fresh guard at its entry era, then after a move.
	g := h.Enter()
	checkReserve(t, c, p, "fresh at entry")
	checkReserve(t, c, p, "again")
	adv()
	checkReserve(t, c, p, "raise hi")
	g.Exit()

	g = h.Enter()
	adv()
	checkReserve(t, c, p, "fresh after move: from")
	checkReserve(t, c, p, "then current")

	// Nested: the outer guard fresh, the nested one entered after a move.
	g.Refresh() // slow: era moved
	require.Zero(t, p.reserved, "a Refresh at a new era starts a fresh guard")
	adv()
	n := h.Enter()
	checkReserve(t, c, p, "nested first reservation, outer fresh")
	adv()
	g.Exit() // outer exits first
	checkReserve(t, c, p, "nested after outer exit")
	n.Exit()

	// The outer guard fresh at its entry era, a nested one at the same era.
	g = h.Enter()
	n = h.Enter()
	checkReserve(t, c, p, "nested fresh at entry")
	n.Exit()
	checkReserve(t, c, p, "outer after nested")
	// Refresh's fast path (the era unchanged) keeps the reservation.
	g.Refresh()
	checkReserve(t, c, p, "after fast refresh")
	adv()
	g.Refresh()
	checkReserve(t, c, p, "after slow refresh")
	g.Exit()

	// A Retire ends the first reservation's exception.
	g = h.Enter()
	x := new(int)
	Retire(g, x, func(*int) {})
	adv()
	checkReserve(t, c, p, "after retire")
	g.Exit()

	// A claimed slot: Enter withdraws, the era moves, the claim is released,
	// Enter announces again.
	p.claim.Store(7)
	var released atomic.Bool
	go func() {
		time.Sleep(20 * time.Millisecond)
		c.epoch.Add(1)
		released.Store(true)
		p.claim.Store(0)
	}()
	g = h.Enter()
	require.True(t, released.Load(), "Enter did not wait for the claim")
	require.Equal(t, c.epoch.Load(), p.word.Load(), "Enter announces again once the claim is released")
	require.Zero(t, p.reserved)
	checkReserve(t, c, p, "after pinSlow")
	g.Exit()

	// Pooled slots, reused by Collector.Enter.
	for i := 0; i < 4; i++ {
		g := c.Enter()
		checkReserve(t, c, &g.s.Value, "pooled")
		adv()
		checkReserve(t, c, &g.s.Value, "pooled raise")
		g.Exit()
	}
	h.Unregister()
	require.NoError(t, c.Close())
}
